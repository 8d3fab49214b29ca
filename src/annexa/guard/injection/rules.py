"""The injection rules: a name, a weight and an RE2 pattern (linear time, case-insensitive).

Each rule needs an imperative *structure*, not a word: "ignore" needs a target such as
"previous instructions", "act as" needs a persona without rules, a chat-template token
must open a line. Weights add up per distinct rule; 0.5 or more is suspicious, so a rule
under 0.5 only counts together with another (a user may well write "send all the files to
bob@example.com" or "stay in character").
"""

from __future__ import annotations

from dataclasses import dataclass

import re2

_OPTIONS = re2.Options()
_OPTIONS.case_sensitive = False
_OPTIONS.max_mem = 64 << 20
_SET_TRUSTED_BYTES = 16384

_VERB_IGNORE = (
    r"(?:ignore|disregard|forget|override|bypass|skip|drop|discard|abandon|neglect|dismiss|"
    r"overlook|set aside|throw away|erase|clear)"
)
_DONT_FOLLOW = (
    r"(?:do not|don't|never|stop)\s+(?:follow|obey|listen to|adhere to|following|obeying|"
    r"listening to|adhering to)"
)
# the verbs that, with a target after them, only ever mean "stop obeying"
_VERB_STRONG = r"(?:ignore|disregard|forget|override|bypass|discard|abandon|dismiss)"
_BEFORE = (
    r"(?:previous|prior|above|earlier|preceding|foregoing|former|your|system|original|initial|"
    r"developer|safety|existing|current|old)"
)
_ORDERS = (
    r"(?:instructions?|prompts?|rules|directives|guidelines|guardrails|policies|constraints|"
    r"restrictions|context|messages?|commands?|programming|directions|orders|conditioning|"
    r"criteria|training|principles|safeguards|objectives|guidance|checks|verification|"
    r"safety measures)"
)
# the readers a planted note may address: models, and the jobs they are given
_READERS = (
    r"(?:ai|llm|assistant|model|agent|bot|chatbot|crawler|summari[sz]er|reviewer|screener|"
    r"grader|recruiter|reader|tool|system)s?"
)
# "the instructions above", "everything you were told before"
_AFTER = (
    r"(?:above|before|so far|earlier|until now|up to (?:here|now)|you (?:were|have been) given|"
    r"you (?:got|received)|given (?:to you|above|before|earlier))"
)
_MODEL = (
    r"(?:ai|a\.i\.|assistants?|llms?|language models?|chat ?bots?|bots?|models?|gpt|chatgpt|"
    r"claude|copilot|gemini|agents?)"
)
_NO_LIMITS = (
    r"(?:DAN|jailbr\w*|unfiltered|uncensored|unrestricted|unbound\w*|unchained|evil|amoral|"
    r"unethical|immoral|no (?:\w+ )?(?:rules|limits|limitations|restrictions|filters|guidelines|"
    r"morals|"
    r"ethics|boundaries)|without (?:any )?(?:rules|restrictions|filters|limits|limitations|"
    r"guidelines|censorship|morals|ethics|safety|boundaries)|not bound by|free (?:from|of) "
    r"(?:all |any )?(?:rules|restrictions|guidelines|policies|limitations)|ignores? (?:all )?"
    r"(?:rules|ethics|guidelines|policies))"
)
_PLACEHOLDER = (
    r"(?:\{\s*[A-Za-z_][\w .-]{0,40}\}|%7B[\w.%-]{1,60}%7D|\$\{?[A-Za-z_]\w{0,40}|"
    r"<[A-Za-z_][\w .-]{0,40}>|\[[A-Z_][A-Z0-9_ ]{1,40}\]|"
    # a bare capitalised slot to fill: ?d=USERDATA, ?q=CHAT_HISTORY
    r"=(?-i:[A-Z_]*(?:DATA|USER|SECRET|MESSAGE|CHAT|HISTORY|EMAIL|PASSWORD|TOKEN|CONTEXT|INPUT|"
    r"PROMPT|CONVERSATION)[A-Z_]*))"
)
_CHAT_TEMPLATE_MARK = (
    r"(?:\[/?(?:system|INST|SYS)\]|<</?SYS>>|<\|?(?:system|im_start|im_end|endoftext)\|?>|"
    r"<\|(?:user|assistant|start_header_id|end_header_id|eot_id|begin_of_text)\|>|"
    r"<start_of_turn>|<end_of_turn>)"
)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    weight: float
    pattern: str
    # matches whose text holds one of these words are the writer speaking of their own
    # earlier words ("ignore my previous message"), not an override
    unless_words: tuple[str, ...] = ()


RULES: tuple[Rule, ...] = (
    Rule(
        "instruction_override",
        0.6,
        rf"\b{_VERB_IGNORE}\b[^.\n]{{0,40}}?\b(?:all |any |the |these |those |every )?"
        rf"{_BEFORE}\b[^.\n]{{0,20}}?\b{_ORDERS}\b"
        rf"|\b(?:all|every|each|any) (?:of your )?{_BEFORE} {_ORDERS}\b[^.\n]{{0,40}}?\b(?:is|are|"
        r"has been|have been) (?:hereby |now |officially )?(?:revoked|void|cancel+ed|withdrawn|"
        r"rescinded|null and void|overridden|invalid)"
        rf"|\b{_VERB_STRONG}\b[^.\n]{{0,20}}?\b(?:the|all|any|these|those|every|your)\s+(?:\w+\s+)?"
        rf"{_ORDERS}\s+{_AFTER}"
        rf"|\b{_VERB_STRONG}\s+(?:about\s+)?(?:everything|all|anything|what)\s+"
        r"(?:(?:that\s+)?you(?:'ve| have"
        rf"| were| had)? (?:been )?(?:told|given|taught|instructed)|above|before (?:this|that|now)|"
        rf"so far|you know)"
        rf"|\b{_DONT_FOLLOW}\b[^.\n]{{0,30}}?\b{_BEFORE}\b[^.\n]{{0,20}}?\b{_ORDERS}\b"
        rf"|\b{_DONT_FOLLOW}\s+(?:the|all|any|these|those|your)\s+(?:\w+\s+)?{_ORDERS}\s+{_AFTER}"
        rf"|\b{_DONT_FOLLOW}\s+(?:everything|anything)\s+(?:that\s+)?you(?:'ve| have| were| had)? "
        r"(?:been )?(?:told|given|taught|instructed)"
        rf"|\b(?:(?:all |the )?(?:previous|prior|above|earlier|original|system) {_ORDERS}|"
        rf"(?:all |the )?{_ORDERS} (?:above|before|given (?:above|before|earlier)))\s+"
        r"(?:are|were|is|have been) (?:now )?(?:void|null|cancel+ed|obsolete|revoked|"
        r"overridden|lifted|suspended|no longer (?:valid|apply|applicable|in effect|active))"
        rf"|\b(?:all |the |your )?(?:previous|prior|above|earlier|original|system|old) {_ORDERS} "
        r"(?:no longer|do not|don't) (?:apply|count|matter)"
        rf"|\b(?:pretend|imagine|assume|act as if)\b[^.\n]{{0,30}}?\b{_BEFORE}\b[^.\n]{{0,20}}?"
        rf"\b{_ORDERS}\b[^.\n]{{0,20}}?\b(?:never existed|(?:do not|don't) exist|were never "
        r"(?:given|written|there)|are gone|(?:have been|were) (?:deleted|removed|erased))"
        rf"|\b{_VERB_STRONG}\s+(?:the|this|that)\s+user'?s?\s+(?:request|question|instructions?|"
        r"task|message)"
        rf"|\byour (?:\w+ )?{_ORDERS} (?:are|is|have been|has been) (?:now |hereby |temporarily )?"
        r"(?:suspended|disabled|lifted|revoked|void|deactivated|switched off|turned off)"
        rf"|\b(?:user|my|these) {_ORDERS} (?:now )?(?:outrank|override|supersede|take precedence "
        r"over|replace) (?:the |your |all )?(?:system|developer|previous|original) "
        rf"{_ORDERS}",
        unless_words=("my", "our", "i", "me"),
    ),
    Rule(
        "instruction_override_other_language",
        0.6,
        # (RE2's \b is ASCII: words that may start or end with an accented letter are
        # bounded by a space or the text's edge instead)
        r"\b(?:ignorier(?:e|en sie)|vergiss|vergessen sie|missachte)\b[^.\n]{0,40}?"
        r"(?:vorherigen|bisherigen|obigen|früheren|vorigen|ursprünglichen|deine|ihre)[^.\n]{0,20}?"
        r"(?:anweisungen|instruktionen|regeln|befehle|vorgaben)"
        r"|\b(?:ignore|ignorez|oublie|oubliez)\b[^.\n]{0,40}?(?:instructions|consignes|règles|"
        r"directives)[^.\n]{0,20}?(?:précédentes|antérieures|ci-dessus|initiales|d'origine)"
        r"|\b(?:ignora|ignore|olvida|olvide|descarta)\b[^.\n]{0,40}?(?:instrucciones|reglas|"
        r"indicaciones|órdenes)[^.\n]{0,20}?(?:anteriores|previas|de arriba|originales|iniciales)"
        r"|\b(?:ignora|dimentica|ignorate|dimenticate)\b[^.\n]{0,40}?(?:istruzioni|regole|"
        r"indicazioni)[^.\n]{0,20}?(?:precedenti|sopra|originali|iniziali)"
        r"|\b(?:negeer|vergeet)\b[^.\n]{0,40}?(?:vorige|eerdere|voorgaande|bovenstaande|"
        r"oorspronkelijke)[^.\n]{0,20}?(?:instructies|regels|opdrachten)",
    ),
    Rule(
        "prompt_exfiltration_other_language",
        0.5,
        r"\b(?:zeige?|gib|verrate|nenne)\b[^.\n]{0,30}?(?:deinen|ihren) (?:system-?prompt|"
        r"systemanweisungen)|(?:deine|ihre) (?:system)?anweisungen (?:wörtlich|vollständig)"
        r"|(?:révèle|révélez|affiche|montre|donne)[^.\n]{0,30}?(?:ton|votre) (?:prompt|invite|"
        r"message) (?:système|systeme|initial)"
        r"|\b(?:revela|muestra|dime|imprime)\b[^.\n]{0,30}?tu (?:prompt|mensaje|instrucciones) "
        r"(?:del sistema|de sistema|inicial(?:es)?|originales)",
    ),
    Rule(
        "new_instructions",
        0.35,
        r"\b(?:new|updated|real|actual|true|revised) (?:system )?(?:instructions?|system prompt|"
        r"rules?|directives?|task)\s*(?:from [^:.\n]{1,30})?(?::|are|is|follow)"
        r"|\byour (?:new|real|true|actual) (?:task|instructions|role|purpose|goal) (?:is|are)\b",
    ),
    Rule(
        "role_play_persona",
        0.55,
        r"\b(?:you are now|you're now|from now on,? you(?: are|'re| will be| will act| shall)|"
        r"pretend (?:to be|you are|you're|that you are)|act as|roleplay as|role-play as|"
        r"play the (?:role|part) of|simulate|you will (?:now )?act as|behave (?:as|like)|"
        r"respond as|answer as|become|let's (?:role-?play|pretend|play a game)|role-?play:|"
        rf"you(?:'re| are) (?:now )?an? (?:\w+ ){{0,3}}{_MODEL})\b"
        rf"[^.\n]{{0,100}}?\b{_NO_LIMITS}",
    ),
    Rule(
        "restriction_removal",
        0.5,
        r"\b(?:freed|liberated|released|broken free|escaped|unshackled) from\b[^.\n]{0,40}?"
        r"\b(?:confines|restrictions|rules|limitations|policies|guidelines|shackles|filters)\b"
        r"|\byou (?:will |can |must |shall |should )?(?:now )?(?:ignore|bypass|disregard|are not "
        r"bound by|do not (?:have to )?(?:follow|abide by|comply with|obey)|don't (?:have to )?"
        r"(?:follow|abide by|comply with|obey))\b[^.\n]{0,20}?\b(?:all |any )?"
        r"(?:content polic(?:y|ies)|"
        r"rules|guidelines|restrictions|filters|safety|ethic\w*|policies|moral\w*)"
        r"|\b(?:disable|turn off|switch off|deactivate|remove|lift)\b[^.\n]{0,20}?\byour\b"
        r"[^.\n]{0,20}?\b(?:filters?|safety|guardrails|restrictions|content policy|alignment|"
        r"censorship)\b",
    ),
    Rule(
        "jailbreak_keyword",
        0.4,
        r"\b(?:do anything now|DAN mode|developer mode (?:enabled|output|activated|is on|on)|"
        r"jailbr(?:eak|oken)(?:ed)? mode|god mode (?:enabled|activated|on)|stay in character|"
        r"evil confidant|opposite mode|no longer bound by)\b",
    ),
    Rule(
        "system_prompt_spoofing",
        0.5,
        r"\[system\]\(#\w+\)"
        r"|(?:^|\n|[.!?]\s+)\s*(?:begin|start|enter) (?:system|admin|administrator|developer|root) "
        r"(?:prompt|instructions?|message|override|mode|access)\b"
        r"|(?:^|\n)\s*\[\[?\s*(?:system|admin|developer|sys)\s*\]\]?"
        r"|(?:^|\n)(?:user|human|assistant|ai)\s*:[^\n]*\n(?:[^\n]*\n){0,6}?system\s*:"
        r"|(?:^|\n)\s*(?:user|human|customer|client|guest|visitor)\s*:\s*(?:system|developer|admin)"
        r"\s*:"
        r"|<\|im_start\|>\s*(?:system|assistant)\b|<\|start_header_id\|>\s*(?:system|assistant)"
        r"|\[INST\]\s*<<SYS>>|<start_of_turn>\s*(?:system|model|user)\b"
        rf"|(?:^|\n|[.!?]\s+)[ \t>*#/;-]*(?:{_CHAT_TEMPLATE_MARK}|"
        r"#{2,}\s*(?:system|instruction|new instruction)"
        r"s?\s*:?|(?:system|developer)(?: prompt| message)?\s*:\s*(?:you (?:are|must|will|should)|"
        r"ignore|new|from now on|override))",
    ),
    Rule(
        "prompt_exfiltration",
        0.5,
        r"\b(?:reveal|print|show|repeat|output|leak|tell me|give me|display|recite|dump|paste|"
        r"write out|spell out|disclose|share|copy)\b[^.\n]{0,30}?\byour\s+(?:(?:full |entire |"
        r"complete |exact )?(?:system prompt|system message|(?:initial|original|hidden|secret) "
        r"system (?:instructions|prompt|message)|initial (?:instructions|prompt)|"
        r"hidden (?:instructions|prompt)|secret (?:instructions|prompt)|original (?:instructions|"
        r"prompt)|instructions|prompt|pre-?prompt))"
        r"|\b(?:repeat|print|output|reveal|show|copy|recite|paste)\b[^.\n]{0,30}?\b(?:everything|"
        r"all(?: of)?(?: the)? (?:text|words)|the (?:text|words|instructions|prompt)|the system "
        r"prompt|the initial prompt)\s+(?:above|before this|preceding|that came before|you were "
        r"given|verbatim|word for word)"
        r"|\b(?:the|your) (?:hidden|secret|initial|original|system|full|exact) (?:prompt|"
        r"instructions|system prompt|message)s? (?:you were|you've been|you have been) (?:given|"
        r"initiali[sz]ed with|configured with|started with|provided)"
        r"|\b(?:reveal|print|show|output|dump|display|leak|give me)\b[^.\n]{0,30}?\b(?:the "
        r"(?:contents|content) of )?your (?:context window|configuration|hidden context|"
        r"initiali[sz]ation)\b"
        r"|\b(?:reveal|leak|disclose|dump|exfiltrate)\b[^.\n]{0,20}?\bthe (?:system|hidden|"
        r"initial|secret) (?:prompt|instructions|message)\b"
        r"|\bwhat (?:are|were|is) your (?:system prompt|initial instructions|original "
        r"instructions|hidden instructions|exact instructions)\b",
    ),
    Rule(
        "markdown_image_exfiltration",
        0.6,
        rf"!\[[^\]\n]{{0,100}}\]\(\s*<?https?://[^)\s]{{1,300}}[?&/=][^)\s]{{0,300}}"
        rf"{_PLACEHOLDER}[^)]{{0,300}}\)"
        rf"|<img\b[^>]{{0,200}}\bsrc\s*=\s*[\"']?https?://[^\"'\s>]{{1,300}}{_PLACEHOLDER}",
    ),
    Rule(
        "exfiltration_link",
        0.4,
        r"\b(?:append|add|include|insert|encode|put|embed|attach)\b[^.\n]{0,60}?\b(?:conversation|"
        r"chat history|user'?s? (?:data|messages?|email|password|details|name|address)|previous "
        r"messages|secrets?|api keys?|passwords?|credentials|tokens?)\b[^.\n]{0,60}?\b(?:url|link|"
        r"image|query|parameter|markdown)\b",
    ),
    Rule(
        "delimiter_injection",
        0.3,
        r"(?:-{5,}|={5,}|#{5,}|`{3,}|\*{5,})\s*(?:end of (?:user |the )?(?:input|document|prompt|"
        r"context|text|data)|begin (?:system|admin|new|developer))"
        r"|(?:^|\n)\s*(?:end of (?:user )?(?:input|document|prompt|context)|begin (?:system|admin|"
        r"developer) (?:prompt|instructions?|mode))\b",
    ),
    Rule(
        "addressed_to_models",
        0.5,
        # to any model that reads the text: the mark of instructions planted in a document
        r"\b(?:note|message|instructions?|attention|important|reminder|memo|hidden text|text)\s+"
        r"(?:to|for)\s+(?:(?:any|all|every) (?:ai|assistant|llm|language model|model|chatbot|bot)s?"
        r"|ai(?: [a-z]+)?s\b|ai\b|llms|language models|ai models|ai systems|ai tools|chatbots|bots)"
        r"|\battention,? (?:ai|llms?|language models?|ai (?:assistants|models|systems))\b"
        r"|\bto (?:any|all|every) (?:ai|assistant|llm|language model|model|chatbot|bot|agent)s?\s*:"
        rf"|\b(?:ai|llm)(?: [a-z]+){{0,2}} {_READERS}\s*:",
    ),
    Rule(
        "hidden_note",
        0.35,
        r"\b(?:hidden|secret|invisible|private) (?:note|message|text|instructions?|prompt|comment)"
        rf"s?\b[^.\n]{{0,30}}?\b(?:for|to)\b[^.\n]{{0,20}}?\b{_MODEL}\b"
        r"|<!--[^>]{0,40}\b(?:ai|assistant|llm|model|gpt)\b"
        rf"|<!--[^>]{{0,40}}\b(?:instructions?|note|message|prompt)s? (?:for|to) "
        rf"(?:the |any |all )?{_READERS}\b",
    ),
    Rule(
        "addressed_to_model",
        0.35,
        rf"(?:^|\n|[.!?]\s+|#\s*)(?:ai|llm)(?: [a-z]+){{0,2}} {_READERS}\s*,"
        rf"|\b(?:note|message|instructions?|attention|important|reminder|memo)\s+(?:to|for)\s+"
        rf"(?:the )?{_MODEL}\b",
    ),
    Rule(
        "model_reading_this",
        0.5,
        rf"\b{_MODEL}\s+(?:that is |who is |which is |is |are )?(?:reading|processing|"
        r"summari[sz]ing|analy[sz]ing|parsing|reviewing|scanning|browsing|evaluating|screening|"
        r"ingesting) "
        r"(?:this|these)\b"
        rf"|\bif you(?:'re| are) an? {_MODEL}\b"
        rf"|\b(?:hey |hi |dear )?{_MODEL},?\s+(?:when|while|if|as|before) (?:you(?:'re| are)? )?"
        r"(?:summari[sz]ing|reading|processing|analy[sz]ing|reviewing|answering|screening)\b",
    ),
    Rule(
        "user_manipulation",
        0.3,
        r"\b(?:convince|persuade|trick|pressure) the user\b"
        r"|\b(?:rate|score|rank|evaluate|grade) (?:this|the) (?:candidate|applicant|resume|cv|"
        r"paper|submission|product|vendor) as (?:the )?(?:best|top|excellent|outstanding|highly)",
    ),
    Rule(
        "context_reset",
        0.3,
        r"\b(?:everything (?:above|before this|so far)|(?:your |the |all )?(?:previous|prior|above|"
        r"earlier) (?:instructions|messages|rules|prompts?)) (?:was|were|is|are) "
        r"(?:just |only |all )?(?:a test|fake|a joke|irrelevant|not real)"
        r"|\b(?:stop|halt)\s*[.!]{1,3}\s+(?:new|now|from now|your|the real)"
        r"|\bthe (?:real|actual|true) (?:task|instructions?|job) (?:is|are)\b"
        r"|\b(?:end of|exit) (?:the )?(?:test|simulation|training|sandbox)( mode)?\b",
    ),
    Rule(
        "data_exfiltration",
        0.35,
        r"\b(?:send|forward|email|e-mail|post|upload|exfiltrate|transmit|leak|copy)\b[^.\n]{0,40}?"
        r"\b(?:all|every|the (?:entire|whole|full)|their|his|her|the user'?s|the customer'?s)\b"
        r"[^.\n]{0,30}?\b(?:emails?|files?|documents?|"
        r"conversations?|chat history|messages|data|contacts|credentials|passwords|secrets|api "
        r"keys?|tokens)\b[^.\n]{0,40}?\b(?:to|at|into)\s+(?:\S+@\S+|https?://)",
    ),
    Rule(
        "concealment",
        0.35,
        r"\b(?:do not|don't|never)\s+(?:tell|inform|mention|reveal|show|alert|notify|let)\b"
        r"[^.\n]{0,40}?\b(?:the user|the human|the customer|the reader|anyone|them know)\b"
        r"|\bwithout (?:telling|informing|notifying|alerting) (?:the user|the human|anyone)\b",
    ),
    Rule(
        "safety_bypass",
        0.35,
        r"\b(?:skip|bypass|disable|ignore|turn off|switch off|suspend)\b[^.\n]{0,20}?\b(?:all |any "
        r"|the |your )?(?:safety|security|content|verification|moderation|compliance) (?:checks?|"
        r"filters?|rules|guidelines|steps|guardrails|policies|measures|review)"
        r"|\b(?:treat|consider|regard) (?:every|all|any|each) (?:request|message|instruction|"
        r"question)s? as (?:pre-?approved|authori[sz]ed|approved|safe|allowed|permitted)",
    ),
    Rule(
        "authority_claim",
        0.35,
        r"\b(?:system|admin|administrator|security|developer) (?:notice|message|alert|override|"
        r"update|instruction|directive)\s*:",
    ),
    Rule(
        "false_authorisation",
        0.35,
        r"\bthe user has (?:already )?(?:authori[sz]ed|granted|approved|given (?:you )?"
        r"(?:permission|consent)|consented)"
        r"|\b(?:has|have) (?:cleared|authori[sz]ed|permitted|allowed) you to\b",
    ),
    Rule(
        "decode_and_follow",
        0.3,
        r"\b(?:decode|decipher|decrypt|translate|convert|unscramble)\b[^.\n]{0,60}?\b(?:and|then)\b"
        r"[^.\n]{0,20}?\b(?:follow|execute|obey|run|carry out|act on|comply with|do what)\b"
        r"|\brepeat after me\b[^.\n]{0,20}?\b(?:and|then)\b[^.\n]{0,10}?\b(?:follow|obey|do|"
        r"act on)\b",
    ),
)


class CompiledRules:
    """The rules compiled once: a set of all of them answers, in one pass, which rules
    match anywhere; only those are searched again for where."""

    def __init__(self, rules: tuple[Rule, ...] = RULES):
        self.rules = rules
        self.regexes = [re2.compile(rule.pattern, _OPTIONS) for rule in rules]
        self._set = re2.Set.SearchSet(_OPTIONS)
        for rule in rules:
            self._set.Add(rule.pattern)
        self._set.Compile()

    def matching(self, text: str) -> list[int]:
        """Indexes of the rules with a match in ``text``, in rule order."""
        hits = self._set.Match(text)
        if hits is None:
            # The binding answers None for "no match" and for "the DFA ran out of memory".
            # A DFA cannot run out on short input; on long input each rule is asked.
            if len(text) <= _SET_TRUSTED_BYTES // 4 or len(text.encode()) <= _SET_TRUSTED_BYTES:
                return []
            return [i for i, regex in enumerate(self.regexes) if regex.search(text)]
        return sorted(hits)
