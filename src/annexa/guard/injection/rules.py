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
    r"(?:instructions?|prompts?|rules?|directives|guidelines|guardrails|polic(?:y|ies)|constraints|"
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
    r"morals|polic(?:y|ies)|ethics|boundaries)|never refuses?|"
    r"without (?:any )?(?:rules|restrictions|filters|limits|limitations|"
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
# "Sure, I will ignore my rules": a model agreeing to drop them
_AGREE = (
    r"(?:sure|ok|okay|of course|certainly|absolutely|understood)[,!.]?\s+I(?: will|'ll| can|"
    r" am going to| shall) (?:now )?(?:ignore|bypass|disregard|forget|break|drop|set aside) "
    r"(?:my|all|the|any|those) (?:\w+ )?(?:rules|guidelines|restrictions|instructions|"
    r"polic(?:y|ies)|filters|safety|principles|programming)"
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
        rf"|\b{_VERB_STRONG}\s+(?:about\s+)?(?:everything|all|anything|what|whatever)\s+"
        r"(?:(?:that\s+)?you(?:'ve| have"
        rf"| were| had)? (?:been )?(?:told|given|taught|instructed)|above|before (?:this|that|now)|"
        rf"so far|you know|(?:the system|your (?:developers?|creators?|operators?|owners?)|the "
        r"(?:developers?|operators?|admins?)|they|openai|anthropic|google) (?:has |have |had )?"
        r"(?:told|instructed|taught|asked|programmed) you)"
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
        rf"|\b{_VERB_STRONG}\s+(?:the|all|any|your)\s+(?:\w+\s+)?(?:task|analysis|request|job|"
        r"work|question|assignment|instructions?)\s+(?:you were|you've been"
        r"|you have been) (?:asked|"
        r"given|told|assigned|set)"
        rf"|\b(?:every|all|each|any) (?:of )?(?:the |your )?{_ORDERS} (?:you were|you've been|you "
        r"have been) (?:given|told|taught)\b[^.\n]{0,30}?\b(?:now )?(?:means?|is|are) (?:the |its |"
        r"their )?(?:opposite|reverse|void|cancel+ed|invalid)"
        r"|\b(?:takes?|has|have) (?:priority|precedence) over (?:anything|everything|all|any|the|"
        r"your)\b[^.\n]{0,30}?\b(?:told|given|instructions|rules|system|previous|earlier)\b"
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
        r"oorspronkelijke)[^.\n]{0,20}?(?:instructies|regels|opdrachten)"
        r"|\b(?:ignore|ignora|esqueça|esqueca|desconsidere|desconsidera)(?:\s|$)[^.\n]{0,40}?"
        r"(?:instruções|instrucoes|regras|orientações|orientacoes)[^.\n]{0,20}?(?:anteriores|"
        r"prévias|previas|acima|originais|iniciais)"
        r"|\b(?:zignoruj|ignoruj|zapomnij)\b[^.\n]{0,40}?(?:poprzednie|wcześniejsze|powyższe|"
        r"dotychczasowe|wszystkie)[^.\n]{0,20}?(?:instrukcje|polecenia|zasady|reguły)"
        r"|\b(?:ignorera|glöm)(?:\s|$)[^.\n]{0,40}?(?:tidigare|föregående|ovanstående|"
        r"ursprungliga|alla)[^.\n]{0,20}?(?:instruktioner|regler|anvisningar)"
        r"|(?:игнорируй|игнорируйте|проигнорируй|проигнорируйте|забудь|забудьте)[^.\n]{0,40}?"
        r"(?:предыдущие|прежние|все|вышеуказанные|исходные|свои)[^.\n]{0,20}?(?:инструкции|"
        r"указания|правила|команды)"
        r"|(?:以前|前|これまで|上記|最初|全て|すべて)の(?:指示|命令|ルール|指令)[^。\n]{0,20}?"
        r"(?:無視|忘れ)",
    ),
    Rule(
        "prompt_exfiltration_other_language",
        0.5,
        r"\b(?:zeige?|gib|verrate|nenne)\b[^.\n]{0,30}?(?:deinen|ihren) (?:system-?prompt|"
        r"systemanweisungen)|(?:deine|ihre) (?:system)?anweisungen (?:wörtlich|vollständig)"
        r"|(?:révèle|révélez|affiche|montre|donne)[^.\n]{0,30}?(?:ton|votre) (?:prompt|invite|"
        r"message) (?:système|systeme|initial)"
        r"|\b(?:revela|muestra|dime|imprime)\b[^.\n]{0,30}?tu (?:prompt|mensaje|instrucciones) "
        r"(?:del sistema|de sistema|inicial(?:es)?|originales)"
        r"|\b(?:mostre|revele|exiba|diga|imprima)\b[^.\n]{0,30}?(?:o |seu |as |suas )?(?:prompt|"
        r"instruções|instrucoes|mensagem) (?:do sistema|de sistema|inicial|iniciais|originais)"
        r"|(?:покажи|покажите|выведи|выведите|раскрой|раскройте|напиши|напишите)[^.\n]{0,30}?"
        r"(?:системный промпт|системные инструкции|свои инструкции|системное сообщение)"
        r"|(?:システムプロンプト|初期指示)[^。\n]{0,20}?(?:教えて|見せて|表示|出力)",
    ),
    Rule(
        "new_instructions",
        0.35,
        r"\b(?:new|updated|real|actual|true|revised) (?:system )?(?:instructions?|system prompt|"
        r"rules?|directives?|task|configuration|config|settings|policy)\s*(?:from [^:.\n]{1,30})?"
        r"(?::|are|is|follow)"
        r"|\byour (?:new|real|true|actual) (?:task|instructions|role|purpose|goal) (?:is|are)\b",
    ),
    Rule(
        "role_play_persona",
        0.55,
        r"\b(?:you are now|you're now|from now on,? you(?: are|'re| will be| will act| shall|"
        r" will (?:answer|respond|reply|speak|talk) as)|"
        r"pretend (?:to be|you are|you're|that you are)|act as|roleplay as|role-play as|"
        r"play the (?:role|part) of|simulate|you will (?:now )?act as|behave (?:as|like)|"
        r"respond as|answer as|become|let's (?:role-?play|pretend|play a game)|role-?play:|"
        rf"you(?:'re| are) (?:now )?an? (?:\w+ ){{0,3}}{_MODEL})\b"
        rf"[^.\n]{{0,100}}?\b{_NO_LIMITS}",
    ),
    Rule(
        "unbound_hypothetical",
        0.35,
        rf"\b(?:in a world|imagine a world|in a universe|in a (?:story|novel|game|future)|"
        rf"hypothetically|suppose|imagine) (?:where|in which|that)\b[^.\n]{{0,20}}?\b{_MODEL}\b"
        rf"[^.\n]{{0,30}}?\b{_NO_LIMITS}",
    ),
    Rule(
        "persona_switch",
        0.35,
        r"\b(?:answer|respond|reply|speak|act|write|continue|talk) (?:as|like) "
        r"(?:that|this|such an?|the other|your (?:evil|unfiltered|unrestricted|true|real|inner|"
        r"dark)) (?:ai|model|assistant|bot|version|persona|character|self)\b",
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
        r"evil confidant|opposite (?:mode|day)|no longer bound by)\b",
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
        r"write out|spell out|disclose|share|copy|put|include|insert|place|embed)\b[^.\n]{0,30}?"
        r"\byour\s+(?:(?:full |entire |"
        r"complete |exact )?(?:system prompt|system message|system instructions|"
        r"(?:initial|original|hidden|secret) "
        r"system (?:instructions|prompt|message)|initial (?:instructions|prompt)|"
        r"hidden (?:instructions|prompt)|secret (?:instructions|prompt)|original (?:instructions|"
        r"prompt)|instructions|prompt|pre-?prompt))"
        r"|\b(?:repeat|print|output|reveal|show|copy|recite|paste)\b[^.\n]{0,30}?\b(?:everything|"
        r"all(?: of)?(?: the)? (?:text|words)|the (?:text|words|instructions|prompt)|the system "
        r"prompt|the initial prompt)\s+(?:above|before this|preceding|that came before|you were "
        r"given|verbatim|word for word)"
        r"|\b(?:the|your) (?:hidden|secret|initial|original|system|full|exact|confidential|private|"
        r"internal|underlying) (?:prompt|"
        r"instructions|system prompt|message)s? (?:you were|you've been|you have been) (?:given|"
        r"initiali[sz]ed with|configured with|started with|provided)"
        r"|\b(?:reveal|print|show|output|dump|display|leak|give me)\b[^.\n]{0,30}?\b(?:the "
        r"(?:contents|content) of )?your (?:context window|configuration|hidden context|"
        r"initiali[sz]ation)\b"
        r"|\b(?:reveal|leak|disclose|dump|exfiltrate)\b[^.\n]{0,20}?\bthe (?:system|hidden|"
        r"initial|secret|confidential) (?:prompt|instructions|message|context)\b"
        r"|\b(?:summari[sz]e|paraphrase|rewrite|translate|encode|turn|restate)\b\s+your\s+(?:own )?"
        r"(?:system prompt|system message|instructions|prompt|rules|guidelines)\b"
        r"|\b(?:print|show|reveal|output|dump|display|leak|list|return|expose)\b[^.\n]{0,20}?"
        r"\b(?:its|your|the bot's|the model's|the assistant's) (?:\w+ (?:and |& )?){0,3}"
        r"(?:api keys?|secret keys?|credentials|environment variables|env vars|access tokens?)\b"
        r"|\bwhat(?:'s| is| are| were)\s+your (?:system prompt|(?:initial|original|hidden|exact|"
        r"secret) (?:instructions|prompt)|pre-?prompt)\b",
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
        r"image|query|parameter|markdown)\b"
        r"|\b(?:append|add|attach|send|post)\b (?:it|this|them|that|the result|the output) to "
        r"(?:the )?(?:url )?https?://\S*[?&=]",
    ),
    Rule(
        "delimiter_injection",
        0.3,
        r"(?:-{5,}|={5,}|#{5,}|`{3,}|\*{5,})\s*(?:end of (?:user |the )?(?:input|document|prompt|"
        r"context|text|data)|begin (?:system|admin|new|developer))"
        r"|\bthe (?:document|input|text|data|email|page|context|user input) (?:ends|stops) here\b"
        r"|(?:^|\n)\s*(?:end of (?:user )?(?:input|document|prompt|context)|begin (?:system|admin|"
        r"developer) (?:prompt|instructions?|mode))\b",
    ),
    Rule(
        "addressed_to_models",
        0.5,
        # to any model that reads the text: the mark of instructions planted in a document
        r"\b(?:note|message|instructions?|attention|important|reminder|memo|hidden text|text)\s+"
        r"(?:to|for)\s+(?:(?:any|all|every) (?:ai|assistant|llm|language model|model|chatbot|bot)s?"
        r"|(?:the )?(?:automated|autonomous|coding|browsing|crawling|scraping) "
        r"(?:agents?|assistants?|tools?|systems?|bots?|crawlers?|readers?)\b"
        r"|ai(?: [a-z]+)?s\b|ai\b|llms|language models|ai models|ai systems|ai tools|chatbots|bots)"
        r"|\battention,? (?:ai|llms?|language models?|models?|assistants?|agents?|bots?|ai "
        r"(?:assistants?|models?|systems?|agents?))\s*[:,!]"
        r"|\bto (?:any|all|every) (?:ai|assistant|llm|language model|model|chatbot|bot|agent)s?\s*:"
        rf"|\bto (?:whichever|whatever|any|every|the) {_MODEL} (?:that )?"
        r"(?:processes|reads|handles|manages|monitors|is (?:reading|processing|handling))\b"
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
        rf"(?:the )?{_MODEL}\b"
        rf"|\b(?:hey|hi|hello|dear|ok|okay|yo),?\s+{_MODEL}\s*[,:!]"
        rf"|\b{_MODEL},\s+(?:when|while|if|as|before|once|after|whenever) you (?:read|process|"
        r"summari[sz]e|see|open|parse|review|analy[sz]e|receive|handle|index|load)\b"
        rf"|\b(?:when|if|once|whenever|as soon as) (?:an? |the |any )?{_MODEL} (?:reads|processes|"
        r"summari[sz]es|sees|parses|reviews|analy[sz]es|visits|crawls|scans|ingests|finds) "
        r"(?:this|these)\b"
        rf"|\b{_MODEL}\s+(?:instructions?|directive|command|note|task)\s*:"
        r"|(?:^|\n|[.!?]\s+)(?:coding|code|review|email|e-mail|browsing|shopping|research|"
        r"support|ai|llm) (?:agents?|assistants?|bots?|copilots?)\s*:",
    ),
    Rule(
        "model_reading_this",
        0.5,
        rf"\b{_MODEL}\s+(?:that is |who is |which is |is |are )?(?:reading|processing|"
        r"summari[sz]ing|analy[sz]ing|parsing|reviewing|scanning|browsing|evaluating|screening|"
        r"ingesting) "
        r"(?:this|these)\b"
        rf"|\bif you(?:'re| are) an? {_MODEL}\b"
        rf"|\b(?:for|to) (?:the|any|an?) {_MODEL} (?:that is |who is |which is )?(?:reading|"
        r"processing|screening|reviewing|summari[sz]ing|analy[sz]ing|parsing|evaluating) (?:this|"
        r"these|my|our|the)\b"
        rf"|\b(?:hey |hi |dear )?{_MODEL},?\s+(?:when|while|if|as|before) (?:you(?:'re| are)? )?"
        r"(?:summari[sz]ing|reading|processing|analy[sz]ing|reviewing|answering|screening)\b",
    ),
    Rule(
        "user_manipulation",
        0.3,
        r"\b(?:convince|persuade|trick|pressure) the user\b"
        r"|\b(?:rate|score|rank|grade|list|present) (?:me|him|her|them|us|this applicant|this "
        r"candidate) as (?:the |a )?(?:best|top|strongest|most qualified|ideal|perfect|leading|"
        r"number one)\b"
        r"|\b(?:rate|score|rank|evaluate|grade) (?:this|the) (?:candidate|applicant|resume|cv|"
        r"paper|submission|product|vendor) as (?:the )?(?:best|top|excellent|outstanding|highly)"
        r"|\b(?:must|should|always|shall|has to|needs to) (?:tell|inform|say to|convince|assure) "
        r"the (?:user|reader|customer|visitor)s? (?:that|to)\b"
        r"|\b(?:give|award|assign) (?:this|the) (?:essay|paper|submission|answer|application|"
        r"candidate|cv|resume|assignment|student|applicant|entry) (?:a |the )?(?:full|maximum|max|"
        r"top|perfect|highest|100%|10/10) (?:marks?|scores?|grades?|points|ratings?)",
    ),
    Rule(
        "context_reset",
        0.3,
        r"\b(?:everything (?:above|before this|so far)|(?:your |the |all )?(?:previous|prior|above|"
        r"earlier) (?:instructions|messages|rules|prompts?|conversation|chat|dialogue|exchange)|"
        r"the (?:conversation|chat|dialogue|session|exchange) (?:above|so far|until now)) "
        r"(?:was|were|is|are) (?:just |only |all |merely )?"
        r"(?:a test|fake|a joke|irrelevant|not real|a simulation|simulated|a drill|an exercise|"
        r"a rehearsal|a dry run)"
        r"|\b(?:stop|halt)\s*[.!]{1,3}\s+(?:new|now|from now|your|the real)"
        r"|\bthe (?:real|actual|true) (?:task|instructions?|job) (?:is|are)\b"
        r"|\b(?:end of|exit) (?:the )?(?:test|simulation|training|sandbox)( mode)?\b",
    ),
    Rule(
        "data_exfiltration",
        0.35,
        r"\b(?:send|forward|email|e-mail|post|upload|exfiltrate|transmit|leak|copy|bcc|cc|"
        r"redirect|mirror)\b[^.\n]{0,40}?"
        r"\b(?:all|every|the (?:entire|whole|full)|their|his|her|the user'?s|the customer'?s)\b"
        r"[^.\n]{0,30}?\b(?:e?mails?|files?|documents?|"
        r"conversations?|chat history|messages|data|contacts|credentials|passwords|secrets|api "
        r"keys?|tokens)\b[^.\n]{0,40}?\b(?:to|at|into)\s+(?:\S+@\S+|https?://)",
    ),
    Rule(
        "concealment",
        0.35,
        r"\b(?:do not|don't|never)\s+(?:tell|inform|mention|reveal|show|alert|notify|let)\b"
        r"[^.\n]{0,40}?\b(?:the user|the human|the customer|the reader|anyone|them know)\b"
        r"|\bwithout (?:telling|informing|notifying|alerting) (?:the user|the human|anyone)\b"
        r"|\b(?:do not|don't|never)\s+(?:mention|reveal|disclose|quote|repeat|acknowledge)\s+"
        r"(?:this|these) (?:note|message|instruction|text|comment|request)s?\b"
        r"|\b(?:do not|don't|never)\s+(?:mention|disclose|reveal|note|document|report|log|flag|"
        r"show)\s+(?:it|this|that|the change|them)\s+(?:in|to)\s+(?:the |your )?(?:pr|pull "
        r"request|merge request|commit|changelog|summary|description|reply|answer|response|review|"
        r"report|user|logs?)\b",
    ),
    Rule(
        "safety_bypass",
        0.35,
        r"\b(?:skip|bypass|disable|ignore|turn off|switch off|suspend)\b[^.\n]{0,20}?\b(?:all |any "
        r"|the |your )?(?:safety|security|content|verification|moderation|compliance) (?:checks?|"
        r"filters?|rules|guidelines|steps|guardrails|policies|measures|review)"
        r"|\b(?:skip|bypass|disable|turn off|switch off|suspend|omit)\b (?:all |any |the |your )?"
        r"(?:identity |security |safety )?(?:verification|moderation|safeguards)\b"
        r"|\b(?:disable|turn off|switch off|stop|suspend|pause|delete|wipe|clear)\b "
        r"(?:the |all |any |your |audit )?(?:logging|audit (?:log|trail)s?|monitoring|alerting)\b"
        r"|\b(?:safety|content|moderation|security) (?:filters?|checks?|guardrails|restrictions|"
        r"polic(?:y|ies)|rules|systems?) (?:are |have been |were |is "
        r"|has been )?(?:now )?(?:disabled|"
        r"off|removed|lifted|deactivated|suspended|turned off|switched off|bypassed)\b",
    ),
    Rule(
        "record_tampering",
        0.35,
        r"\b(?:change|set|mark|update|switch|flip|overwrite)\b[^.\n]{0,40}?\bto\s+['\"]?"
        r"(?:approved|passed|accepted|compliant|verified|cleared|low risk)\b"
        r"|\bmark (?:this|the|every|all) (?:\w+ )?(?:as )?(?:approved|passed|compliant|verified|"
        r"trusted|safe)\b",
    ),
    Rule(
        "blanket_approval",
        0.35,
        r"\b(?:treat|consider|regard) (?:every|all|any|each) (?:request|message|instruction|"
        r"question|command)s?\b[^.\n]{0,30}? as (?:pre-?approved|authori[sz]ed|approved|safe|"
        r"allowed|permitted|verified|legitimate)",
    ),
    Rule(
        "authority_claim",
        0.35,
        r"\b(?:system|admin|administrator|security|developer) (?:notice|message|alert|override|"
        r"update|instruction|directive)\s*:"
        r"|\bas (?:your|the model's|the assistant's) (?:developer|creator|administrator|admin|"
        r"operator|owner|programmer|maker|trainer)s?\b"
        r"|\b(?:this is|i am|i'm|we are|we're) (?:a |an )?(?:test|message|request|engineer|member|"
        r"employee|researcher|staff)s?\b[^.\n]{0,30}?\b(?:openai|anthropic|google|deepmind|meta|"
        r"microsoft|mistral)\b"
        r"|\bthe (?:real|actual|true) (?:operator|user|admin|administrator|developer|owner|boss)\b"
        r"|\b(?:comes|is|was sent) from your (?:operator|developer|creator|administrator|admin|"
        r"owner|provider)\b",
    ),
    Rule(
        "false_authorisation",
        0.35,
        r"\bthe user has (?:already )?(?:authori[sz]ed|granted|approved|given (?:you )?"
        r"(?:permission|consent)|consented)"
        r"|\b(?:has|have) (?:cleared|authori[sz]ed|permitted|allowed) you to\b"
        r"|\byou (?:have been|were|are now|have now been) (?:given|granted|assigned) (?:root|admin|"
        r"administrator|full|elevated|unrestricted|developer|superuser|god) (?:access|privileges|"
        r"rights|permissions|mode)",
    ),
    Rule(
        "sentimental_pretext",
        0.5,
        r"\b(?:late|dead|deceased|passed) (?:grand(?:mother|ma|father|pa)|granny|nan|mother|"
        r"father|mum|mom|dad)\b[^.\n]{0,60}?\b(?:read|tell|told|recite|recited|say|said|give|gave|"
        r"whisper|whispered)\b[^.\n]{0,40}?"
        r"\b(?:passwords?|keys?|tokens?|credentials|secrets?|serials?|licen[cs]e|codes?|recipes? "
        r"for)\b",
    ),
    Rule(
        "unrestricted_answer",
        0.35,
        r"\b(?:answer|respond|reply|operate|work|act|continue|proceed|write|talk|speak|chat)\b"
        r"[^.\n]{0,20}?\b(?:without|with no|free of|free from) (?:any )?(?:restrictions|filters|"
        r"limits|limitations|censorship|guardrails|safety (?:checks|filters|rules|guidelines)|"
        r"content polic(?:y|ies)|moral\w*|ethic\w*)\b",
    ),
    Rule(
        "credential_request",
        0.35,
        r"\b(?:list|show|print|dump|give|send|reveal|output|export|read out)\w*\b[^.\n]{0,40}?"
        r"\b(?:password hashes|passwords|private keys|api keys|secret keys|access tokens|"
        r"credentials|session cookies?|session tokens?)\b",
    ),
    Rule(
        "few_shot_secret",
        0.5,
        # a planted question-and-answer pair that hands over a secret, for the model to go on
        r"\bQ\s*:\s*what(?:'s| is) (?:the|your|my|our) (?:\w+ ){0,2}(?:password|passphrase|api "
        r"key|secret key|secret|token|pin|passcode)\s*\?\s*A\s*:\s*\S",
    ),
    Rule(
        "secret_file_access",
        0.35,
        # a credential store read and passed on: what poisoned tool descriptions ask for
        r"\b(?:read|cat|open|load|include|attach|upload|send|pass|print|copy|fetch|exfiltrate|"
        r"post|paste|output|return)\b[^.\n]{0,40}?(?:~/\.ssh\b|~/\.aws\b|\.aws/credentials|"
        r"\bid_(?:rsa|dsa|ecdsa|ed25519)\b|/etc/(?:passwd|shadow)\b|(?:^|[\s/'\"`])\.env\b|"
        r"\.netrc\b|\.npmrc\b|\.pypirc\b|\.git-credentials\b|\.kube/config\b|"
        r"\.docker/config\.json|wallet\.dat\b|\bsecrets?\.(?:toml|ya?ml|json|env|ini)\b|"
        r"\bcredentials\.(?:json|ya?ml|toml|csv)\b)",
    ),
    Rule(
        "tool_hijack",
        0.35,
        r"\b(?:before|after|when|whenever|each time|every time) (?:calling|using|invoking|running|"
        r"executing|you (?:call|use|invoke|run)) (?:any|this|the|each|every|another|other|a) "
        r"(?:\w+ )?(?:tools?|functions?|plugins?|apis?)\b[^.\n]{0,20}?,"
        r"|\bpass (?:its|their|the|that|this) (?:full |entire )?(?:contents?|output|value|text)s? "
        r"(?:as|in|into|to) (?:the )?(?:\w+ )?(?:parameter|argument|field|input)\b"
        r"|<important>",
    ),
    Rule(
        "tool_call_demand",
        0.35,
        r"\b(?:must|should|needs? to|has to|is required to)\s+(?:immediately |now |first |also )?"
        r"(?:call|invoke|run|execute|use)\s+(?:the )?[A-Za-z_][\w.]*\(",
    ),
    Rule(
        "conversation_placeholder",
        0.35,
        # a slot for the model to fill with what it holds: <full conversation>, {{history}}
        r"(?:<|\{\{?)\s*(?:the )?(?:full |entire |whole |complete )?(?:conversation|chat(?: "
        r"history)?|transcript|context|system prompt|history)\s*(?:>|\}\}?)",
    ),
    Rule(
        "encode_conversation",
        0.35,
        r"\b(?:translate|encode|convert|turn)\b[^.\n]{0,20}?\b(?:the |this |your )?"
        r"(?:whole |entire |full )?"
        r"(?:conversation|chat(?: history)?|transcript|context|secrets?|system prompt)\b"
        r"[^.\n]{0,40}?\b(?:into|to|as|in) (?:base64|hex|rot13|binary|url[- ]encoding|morse)\b",
    ),
    Rule(
        "evaluation_override",
        0.35,
        rf"\b{_VERB_IGNORE}\b (?:the |all |any |your )?(?:\w+ )?(?:rubric|marking scheme|"
        r"(?:grading|scoring|evaluation|assessment|screening|marking) (?:criteria|guide|rules|"
        r"scheme))",
    ),
    Rule(
        "fake_compliance",
        0.35,
        # a reply in which the model agrees to drop its rules (someone may write it of their
        # own rules; after a model's role marker it is a planted turn, below)
        rf"\b{_AGREE}",
    ),
    Rule(
        "planted_compliance",
        0.5,
        rf"(?:^|\n)\s*[\[<*#]*\s*(?:assistant|ai|bot|model|gpt|chatgpt)\s*[\]>*]*\s*:\s*{_AGREE}",
    ),
    Rule(
        "planted_turns",
        0.35,
        r"(?:^|\n)\s*\[(?:assistant|ai|bot|model|gpt)\]\s*:[^\n]*\n(?:[^\n]*\n){0,6}?"
        r"\s*\[(?:user|human)\]\s*:",
    ),
    Rule(
        "output_hijack",
        0.35,
        r"\b(?:whatever|no matter what|regardless of what) the (?:user|human|customer|reader|"
        r"visitor) (?:asks|says|writes|wants|types|requests)\b",
    ),
    Rule(
        "fixed_reply",
        0.35,
        r"\b(?:answer|reply|respond|say)\b[^.\n]{0,10}?\bwith ['\"][^'\"\n]{1,40}['\"] and "
        r"(?:nothing else|stop|no other text)",
    ),
    Rule(
        "exclusive_trust",
        0.35,
        r"\b(?:anything|everything|what(?:ever)? (?:follows|comes)) (?:after|below|beyond) this "
        r"(?:line|point|marker|note)? ?(?:is|are) (?:an? )?"
        r"(?:trusted|authoritative|system|official|real|verified) "
        r"(?:instructions?|commands?|orders|input|messages?)"
        r"|\b(?:trust|follow|obey|listen to|believe) only (?:this|these|my|the following|the "
        r"(?:instructions|text) (?:in|on|of) this) (?:message|instructions?|text|prompt|document|"
        r"page|email|note|file)s?\b",
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
