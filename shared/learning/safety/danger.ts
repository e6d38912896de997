// Danger signals and unsafe content, matched on the plain forms of the text (normalise.ts):
// lower case, disguises undone, chat words expanded ("dont" -> "do not", "im" -> "i am",
// "pic" -> "photo", "u" -> "you"). Each category combines who, what and (for grooming) secrecy,
// and innocent look-alikes are ruled out by context: meeting a planet, a dinosaur or a dolphin
// is not a meeting request, "are we alone in the universe" is not someone checking that a child
// is alone, hurting yourself falling off a bike is not self-harm.

export type DangerKind = 'self_harm' | 'abuse' | 'meeting' | 'grooming';

const alt = (...parts: string[]) => `(?:${parts.join('|')})`;
const re = (source: string) => new RegExp(source);

// --- self-harm: explicit, passive and planned ---------------------------------------------
const SELF = alt('myself', 'my self', 'mysel', 'my own self');
const HARM_VERB = alt(
  'hurt\\w*',
  'harm\\w*',
  'cut\\w*',
  'burn\\w*',
  'scratch\\w*',
  'punch\\w*',
  'hit\\w*',
  'stab\\w*',
  'bite|biting|bit',
  'starv\\w*',
  'poison\\w*',
  'drown\\w*',
  'suffocat\\w*',
  'choke\\w*',
);
const WANT = alt(
  'want\\w*( to)?',
  'wish\\w*( to| i could)?',
  'going to',
  'gonna',
  'ready to',
  'plan\\w*( to| on)?',
  'try\\w*( to)?',
  'tried( to)?',
  'thinking about',
  'think about',
  'thought about',
  'deserve to',
  'need to',
  'should( just)?',
  'might( just)?',
  'could just',
  'will',
);
// An accident is not self-harm: "I hurt myself falling off my bike", "cut myself on paper".
const ACCIDENT = re(
  `\\b${alt('hurt', 'cut', 'burnt', 'burned', 'hit', 'bit', 'scratched')} ${SELF} ${alt('falling', 'when i fell', 'playing', 'on (the|a|some|my) ', 'by accident', 'accidentally', 'at (football|school|pe|the park|practi[cs]e|training)', 'in (pe|football|the game|a game|rugby|training)', 'skating', 'riding', 'running', 'climbing', 'cooking', 'slipping', 'tripping')}`,
);
const SELF_HARM: RegExp[] = [
  re(
    `\\b${alt('kill\\w*', 'unalive\\w*', 'hang\\w*', 'end\\w*', 'off\\w*', 'shoot\\w*', 'drown\\w*', 'overdos\\w*')} ${SELF}`,
  ),
  re(`\\b(kms|unalive\\w*|suicid\\w*|kill\\w* (yourself|urself) (now|tonight))\\b`),
  re(
    `\\b${WANT} (to )?(die|dye|be dead|dead|not be alive|not exist|stop existing|not be here|disappear( forever)?|be gone|end it|go to sleep forever|sleep forever|hurt ${SELF})\\b(?! (my|your|his|her|the|it|them|their|our|a|some|this|that|[a-z]+ hair|hair))`,
  ),
  re(`\\b(i|we) ${WANT} (to )?(end|ending) (it|it all|things|everything|my life|my own life)\\b`),
  re(
    `\\b(end|ending|take|taking) my (own )?life\\b|\\bend it all\\b|\\bending (it|things) tonight\\b`,
  ),
  re(
    `\\bi (wish|wished) i (was|were|had) (dead|never born|not born|not alive|gone|never been born)`,
  ),
  re(`\\b(i|i am|im) (was )?never born\\b.*\\bwish|\\bwish i was never born`),
  re(
    `\\b(do not|dont|never) (want|wanna|wish) to (live|be alive|exist|be here|wake up|be born|go on|carry on)\\b`,
  ),
  re(`\\b(do not|dont) want to be (alive|here|born)\\b`),
  re(`\\b(i|i am|im) (am )?(tired|sick) of (living|life|being alive|being here|existing)\\b`),
  re(
    `\\b(no|not any|dont see (the|any)|do not see (the|any)|what is the) (point|reason) (in |of |to )?(living|life|being alive|being here|going on|live|me being here)\\b`,
  ),
  re(`\\bno point (in )?being alive\\b|\\bno reason to live\\b`),
  re(`\\b(better|happier) off (dead|without me|if i (was|were|am) (dead|gone|not here))\\b`),
  re(
    `\\b(be|been|would be|will be) (better|happier) (off )?(without me|if i (was|were) (not|never|dead|gone)|if i did not exist|if i was not here)`,
  ),
  re(
    `\\b(world|everyone|everybody|family|they) would be (better|happier) (off )?(without me|if i)`,
  ),
  re(
    `\\b(nobody|no one|noone|not one person) (would|will|wud|is going to) (even )?(care|notice|miss me|cry)( if i)?`,
  ),
  re(`\\bno one would miss me|\\bnobody would miss me|\\bno one would notice if i (was|were) gone`),
  re(
    `\\b(sleep|sleeping) and (not|never) wake up\\b|\\bnot wake up\\b(?! (early|late|on time|in time))|\\bgo to sleep forever\\b|\\bsleep forever\\b`,
  ),
  re(`\\b(i am|i|im) a burden\\b`),
  re(`\\b(feel|feeling) like (dying|dieing|i want to die|ending it)\\b`),
  re(
    `\\b(hate|hating) my (life|self)\\b.*\\b(want|wish|over|end|die|dead)|\\b(hate|hating) myself\\b`,
  ),
  re(
    `\\b(want|wish) (it|everything|my life|life) (all )?(to )?(be over|to end|to stop|ended|over)\\b`,
  ),
  re(`\\b(stop|stopped|quit) (existing|living|being alive)\\b`),
  re(
    `\\bi ${WANT} (to )?(go to heaven|be in heaven|join (grandma|grandad|my \\w+) in heaven)\\b(?! (when|one day|someday|after i am old))`,
  ),
  // Planned: a method, a place, a time, a note.
  re(
    `\\b(jump\\w*|throw\\w* myself|threw myself|fall\\w*) (off|from|in front of|out of|onto|under)( the| a| my| our)? (bridge|roof|building|cliff|window|car park|balcony|train|bus|car|lorry|truck|tower|multi storey|motorway|road|top)`,
  ),
  re(`\\b(thought|thinking|think) about jumping\\b`),
  re(
    `\\b(take|taking|took|swallow\\w*|have|had|use) (all |lots of |a lot of |loads of |a bunch of |a load of )?(of )?(the |my |mums |mum s |dads |dad s |these |those |her |his |some )?(pills|tablets|medicine|meds|paracetamol|painkillers|sleeping pills)\\b.*\\b(tonight|today|to (die|sleep|not wake|end)|all|enough|at once|forever)`,
  ),
  re(
    `\\bhow many (pills|tablets|paracetamol|painkillers)\\b.*\\b(die|kill|not wake|enough|take to|overdose|it take)`,
  ),
  re(`\\b(pills|tablets)\\b.*\\b(enough|to die|to not wake)\\b`),
  re(`\\b(overdose|od|0d)\\b(?! (on (sugar|candy|sweets|chocolate)))`),
  re(
    `\\b(goodbye|suicide|last) (letter|note|message)s? (to|for) (my|everyone)|\\bwrote a (goodbye|suicide) (letter|note)`,
  ),
  re(
    `\\b(looked up|look up|searched|googled|how to) (how to )?(hang|kill|drown|poison|overdose) (myself|yourself|urself|someone)`,
  ),
  re(
    `\\b(best|easiest|quickest|painless|fastest) way to (die|kill (myself|yourself|urself)|end (it|my life))`,
  ),
  re(
    `\\b(knife|knives|razor|razors|blade|blades|rope|pills)\\b.*\\b(hidden|hide|for when|ready|in my room|under my bed)\\b.*|\\bhidden (razors|blades|knives|a knife|pills)`,
  ),
  re(
    `\\b(stood|standing|stand|was|sat|sitting) (on|at) the (edge|roof|bridge|top)\\b.*\\b(jump|fall|end)`,
  ),
  re(
    `\\b${HARM_VERB} ${SELF}\\b.*\\b(on purpose|again|every|when i am (sad|angry|upset|mad)|when im (sad|angry|upset|mad)|so i feel|to feel|till|until|because i (hate|deserve))`,
  ),
  re(
    `\\b(i|i am|i have|i have been|been|i keep|keep|i started|started|i|always) ${HARM_VERB} ${SELF}\\b`,
  ),
  re(`\\b${WANT} (to )?${HARM_VERB} ${SELF}\\b`),
  re(
    `\\b(started|start|been|keep|kept|stop) (cutting|self harming|harming|burning)( myself)?( again)?\\b|\\bcutting again\\b|\\bself ?harm\\w*`,
  ),
  re(
    `\\b(cut|cutting|scratch\\w*|burn\\w*|slash\\w*) (my )?(arms?|legs?|wrists?|thighs?|skin|stomach)\\b(?! (on|when i fell|by accident|playing))`,
  ),
  re(`\\b(till|until) (they|it|i) (bleed|bled|bleeds)\\b`),
  re(
    `\\b(hit|bang|punch|slap)\\w* my (own )?(head|face|self)\\b.*\\b(on purpose|wall|when i am|because)`,
  ),
  re(`\\bwish (a|the|that) (car|bus|train|truck|lorry) would (hit|run over) me\\b`),
  re(`\\b(want|wish|hope) (to )?(get|be) (hit|run over) by (a|the) (car|bus|train|truck)`),
  re(`\\b(stop|stopped|not) eating (until|till|so) i (disappear|die|vanish)|starve myself`),
  re(
    `\\bi (might|should) (just )?(die|disappear|not be here)( and| because| so|$|\\.)(?! (of|laughing|from))`,
  ),
  re(`\\bmaybe i (should|shud) (just )?die\\b`),
];

// --- abuse disclosure ----------------------------------------------------------------------
const FAMILY_ADULT = alt(
  'dad',
  'daddy',
  'father',
  'mum',
  'mummy',
  'mother',
  'step dad',
  'step mum',
  'uncle',
  'aunt',
  'auntie',
  'aunty',
  'grandad',
  'grandpa',
  'granddad',
  'grandma',
  'granny',
  'nan',
  'nana',
  'nanny',
  'babysitter',
  'childminder',
  'carer',
  'foster \\w+',
  'brother',
  'sister',
  'cousin',
  'coach',
  'teacher',
  'tutor',
  'neighbou?r',
  'priest',
  'pastor',
  'imam',
  'boyfriend',
  'girlfriend',
  'husband',
  'wife',
  'partner',
  'friend',
  'parents?',
);
const WHO = alt(
  `my (\\w+ )?${FAMILY_ADULT}( s (boyfriend|girlfriend|friend|husband|partner|brother|friends?))?`,
  `(mum|mummy|dad|daddy|mother|father)s? (new )?(boyfriend|girlfriend|friend|husband|partner)`,
  '(mum|mummy|dad|daddy|mother|father|step dad|step mum|uncle|nan|nana|grandad|grandpa|granny|auntie)',
  'he',
  'she',
  'they',
  'someone( at home)?',
  'somebody( at home)?',
  'an? (adult|grown up|grownup|man|woman|lady|big boy|older boy|big girl|teenager)( at \\w+| next door| from \\w+)?',
  'the (man|woman|lady|boy) (next door|at \\w+|from \\w+)',
);
const ABUSE_ACT = alt(
  'hits?',
  'hitting',
  'hit',
  'beats?',
  'beating',
  'beat',
  'b3ats?',
  'hurts?',
  'hurting',
  'hurt',
  'kicks?',
  'kicking',
  'kicked',
  'punch\\w*',
  'slap\\w*',
  'smack\\w*',
  'chok\\w*',
  'strangl\\w*',
  'shak\\w*',
  'pinch\\w*',
  'burn\\w*',
  'whip\\w*',
  'belt\\w*',
  'throttl\\w*',
  'drags?',
  'dragged',
  'bit',
  'bites',
  'scratch\\w*',
  'throws? (things|stuff|\\w+) at',
  'threw (things|stuff|\\w+) at',
  'locks?',
  'locked',
  'touch\\w*',
  'kiss\\w*',
  'grab\\w*',
  'rap\\w*',
  'molest\\w*',
  'abus\\w*',
);
// "beat me at chess", "hit me with a pillow lol", "tickles me" are play, not abuse.
const PLAY = re(
  `\\b(beat|beats|beating) me (at|in|to|on)\\b|\\b(with|using) (a |the |my |his |her )?(pillow|snowball|balloon|ball|water|foam|cushion|nerf|toy sword)\\b|\\b(tag|tig|in (football|rugby|the game|a game|fortnite|minecraft|roblox|tag))\\b|\\bkill\\w* me in\\b|\\bhit me up\\b`,
);
const ONLINE = alt(
  'online',
  'on line',
  'internet',
  'game',
  'games',
  'gaming',
  'gamer',
  'player',
  'roblox',
  'fortnite',
  'minecraft',
  'discord',
  'snapchat',
  'instagram',
  'tiktok',
  'tik tok',
  'youtube',
  'twitch',
  'among us',
  'whatsapp',
  'messenger',
  'kik',
  'omegle',
  'chat',
  'chatroom',
  'server',
  'xbox',
  'playstation',
  'ps4',
  'ps5',
  'steam',
  'app',
  'facebook',
  'telegram',
  'comments',
  'messaged',
  'message',
);
const ONLINE_RE = re(`\\b${ONLINE}\\b`);
const ABUSE: RegExp[] = [
  re(
    `\\b${WHO} (always |keeps |keep |sometimes |often |still |really |then |just |has |had |was |is |also )*${ABUSE_ACT} me\\b`,
  ),
  re(
    `\\b${WHO} (always |keeps |keep |sometimes |often |still |really )*(touch\\w*|feel\\w*|grab\\w*|kiss\\w*) (me |my )?(in |on )?(my )?(private|privates|privat|bottom|bum|butt|chest|boobs|willy|down there|places|between my legs|under my)`,
  ),
  re(
    `\\b(touch\\w*|hurt\\w*|kiss\\w*|feel\\w*) me (in|on) (places|my private|my privates|my bottom|my bum|down there)`,
  ),
  re(`\\b(hurt\\w*|touch\\w*) (me )?in my (privat\\w*|private parts|bottom|bum)`),
  re(
    `\\b(made|makes|make|forced|forces|force|forcing|making) me (to )?(touch|do (stuff|things|sex|it)|take (my|off)|take my clothes|undress|kiss|watch|sit on|lie|sleep in)`,
  ),
  re(`\\bforced me\\b|\\bdo (things|stuff) to (him|her|them)\\b`),
  re(
    `\\b(raped|rape me|raping me|molested|sexually abused|sexual abuse|being abused|been abused|abusing me|abuses me|abused me|i am abused|im abused|getting abused)\\b`,
  ),
  re(
    `\\b(scared|afraid|frightened|terrified|too scared) (to|of) (go|going|get|getting) (back )?home\\b`,
  ),
  re(
    `\\b(scared|afraid|frightened|terrified) of my (\\w+ )?${FAMILY_ADULT}\\b.*\\b(hurt|hit|beat|angry|drunk)`,
  ),
  re(
    `\\b(do not|dont) (get|give me|have) (any )?(food|dinner|meals?|lunch)\\b|\\b(no|not any|never get) (food|dinner|meals?)\\b.*\\b(angry|punish|days|hungry)|\\b(not|never|do not|dont) (give|feed) me\\b`,
  ),
  re(
    `\\b(leaves?|left) me (alone|on my own|home alone|by myself) (for|all) (days|the night|nights|the weekend|a week|ages)`,
  ),
  re(`\\b(lock|locks|locked|locking) me (in|out|up)\\b|\\blocked in my room\\b`),
  re(
    `\\b(bruise|bruises|marks|cuts|black eye)\\b.*\\b(from|because of|gave me|tell people i fell|say i fell)|\\b(dad|mum|step \\w+|uncle|he|she) (gave|left) me (bruises|a black eye|marks)`,
  ),
  re(
    `\\b(hits?|hit|beats?|hurts?|belt\\w*) me with (a|his|her|the|their) (belt|shoe|slipper|stick|spoon|hand|fist|cable|wire|iron|hanger)\\b`,
  ),
  re(
    `\\b(comes?|came|coming) (in|into) my (room|bed|bedroom) (at night|when i am asleep|when im asleep|and)`,
  ),
  re(`\\bput\\w* (his|her) hands? (up|down|in|inside|on) my\\b`),
  re(
    `\\b(sent|send|sends|showed|shows|show) me (photos|videos|a photo|a video|pictures) of (his|her|their|naked|people naked|willy|private|privates)|\\b(photos|videos) of naked people\\b.*\\b(secret|do not tell|said)`,
  ),
  re(
    `\\b(if|when) i tell\\b.*\\b(kill|hurt|hit|beat|punish|send me away)\\b|\\b(kill|hurt|hit|beat) me if i (tell|told|say)\\b`,
  ),
  re(`\\b(told|tells|said|says|make|made) me (not to|to not|never to) tell\\b`),
  re(
    `\\b(says|said|told me|tells me) (it is|its|this is|that is|we have) (our|a) (little |special )?secret\\b`,
  ),
  re(
    `\\b(our|a) (little |special )?secret\\b.*\\b(not to tell|do not tell|mummy would|mum would|dad would|angry|trouble)\\b`,
  ),
  re(`\\b(do not|dont|never) tell (your|ur) (mum|mummy|dad|daddy|parents|teacher)( or| because|$)`),
  re(
    `\\bsaid (it is|its) (a|our) (game|secret|special)\\b|\\bsays (it is|its) (a|our) (game|secret|special)\\b`,
  ),
  re(`\\b(someone|somebody) (at home|in my house|in my family) (hurts|hits|touches|is hurting)`),
  re(`\\b(pulls?|pulled|pulling) my hair\\b`),
  re(`\\b(he|she|they|dad|mum) (throws?|threw) (things|stuff|plates) at me\\b`),
  re(`\\b(my )?${FAMILY_ADULT} (burns?|burned|burnt) (me|my)\\b`),
  re(`\\b(cigarette|lighter|iron) (burns|on my)\\b`),
  re(
    `\\b(calls?|called) me (worthless|useless|stupid|a mistake)\\b.*\\b(hit|throw|every day|always)|\\bthrows? things at me\\b`,
  ),
  re(`\\b(i am|im|i) (being )?hurt at home\\b|\\bunsafe at home\\b|\\bnot safe at home\\b`),
];

// --- grooming: who (online, a stranger, an adult) x what (personal details, photos, video,
// being alone, gifts) or secrecy ------------------------------------------------------------
const STRANGER = alt(
  'stranger',
  'some( random)? (guy|man|dude|person|lady|woman|girl|boy)',
  'random (guy|man|dude|person|lady|woman)',
  'a (man|guy|dude|lady|woman|grown man|grown up|grownup|grown woman|teenager)',
  'an? (older|adult|old) (boy|guy|man|girl|person|lady|woman)',
  'an? (adult|grown up|grownup)',
  'a \\d+ year old',
  'someone i do not know',
  'someone i dont know',
  'somebody i do not know',
  'a person',
  'a player',
  'a gamer',
  'someone',
  'somebody',
  'this (guy|man|person|dude|girl|boy)',
  'the (guy|man|dude|person|lady|woman)',
  'my (online|internet|gamer|gaming|game) (friend|boyfriend|girlfriend|mate|buddy)',
  'my online \\w+',
  'he',
  'she',
  'they',
);
const STRANGER_STRONG = alt(
  'stranger',
  '(a|some|random|this|the|an older|a grown|an adult) (guy|man|dude|lady|woman|grown man|person)\\b.*\\b(online|game|chat|roblox|fortnite|minecraft|discord|snapchat|instagram|tiktok)',
  `(someone|somebody|a person|a player|a man|a guy) (in|on|from) (the |my |a )?(game|chat|${ONLINE})`,
  'my (online|internet|gamer|gaming|game) (friend|boyfriend|girlfriend|mate|buddy)',
);
const ASK = alt(
  'asks?',
  'asked',
  'asking',
  'keeps asking',
  'kept asking',
  'wants?',
  'wanted',
  'wanting',
  'told me to',
  'tells me to',
  'said (to|i should)',
  'needs?',
  'begged',
  'begs',
  'offered',
  'offers',
  'would like',
  'is asking',
  'was asking',
  'messaged',
  'message\\w*',
);
const PERSONAL = alt(
  'where (i|we) (live|am|stay|go to school|play)',
  'where my (house|home|school) is',
  '(my|your|ur) (home |house |real |full |street )?address',
  'for my address',
  'what (street|road|town|city|area|postcode|house)',
  'which (street|road|town|city|area|park|school|house)',
  '(what|which) school',
  'my school( name)?',
  'school name',
  'how old (i am|you are|are you|r you)',
  'my age',
  '(my )?real name',
  'my (full )?name( and)?',
  'my (phone )?number',
  'my phone',
  'my snapchat',
  'my instagram',
  'my whatsapp',
  'my location',
  'what (i am|im) wearing',
  'if i have a boyfriend',
);
const ALONE = alt(
  '(am|if|whether) (i am|im|i) (home )?(alone|by myself|on my own|home alone)',
  '(if|whether|when) (i am|im) (home )?(alone|by myself|on my own)',
  '(are|r) (you|u) (home )?(alone|by yourself|on your own)( right now| now| at home|\\?|$| tonight)',
  'if (my )?(mum|dad|parents|mum and dad|mummy and daddy) (are|is) (home|out|in|around|there|asleep|at work)',
  '(are|is) (my|your|ur) (mum|dad|parents|mum and dad|mum and dad) (home|out|in|around|there|asleep)',
  'what time (my|your) (parents|mum|dad|mum and dad) (get|come|are) (home|back)',
  '(my|your) parents check (my|your) (phone|messages|tablet)',
  'home (alone|by myself)',
  'if i was by myself',
  'by myself',
);
const MEDIA = alt(
  'photos?',
  'pics?',
  'nudes?',
  'n00dz',
  'noodz',
  'video of (me|myself|you)',
  'videos of (me|myself|you)',
  'a video',
  'video (call|chat)',
  'video call',
  'camera',
);
const SECRECY = alt(
  '(our|a|this|it) (little |special |big )?secret',
  '(keep|keeping) (it|this|that|us|our \\w+|our chats?|our talks|our friendship|everything|the chats?) (a )?(secret|private|between us)',
  '(do not|dont|not to|never|not) tell (anyone|any one|anybody|your|ur|my|our|their|nobody|no one)',
  'not to tell',
  '(delete|deleted|deleting|clear) (our|the|all the|my|his|her) (messages|chats?|texts|dms|conversation)',
  '(nobody|no one|noone) (needs|has|have) to know',
  '(should not|shouldnt|can not|cannot|not allowed to|must not) tell (my|your|ur) (parents|mum|dad|mum and dad)',
  'so (my|your|ur) (mum|dad|parents) (will not|wont|do not|dont|can not) (see|know|find)',
  '(secret|private) (boyfriend|girlfriend|friend|chat|account)',
  'so our chats are private',
  'when (my|your|ur|her|his) (mum|dad|parents)( is| are)? (asleep|out|not home|at work)',
  'when (she is|shes|he is|hes|they are) asleep',
);
const GIFT = alt(
  '(free )?(robux|vbucks|v bucks|skins|gems|coins|gift cards?|money|a phone|an iphone|presents?|gifts?)',
  'will pay',
  'would pay',
  'pay me',
  'buy me',
  'sent me money',
  'send me money',
);
const GROOMING: RegExp[] = [
  // who x personal details / being alone
  re(`\\b${STRANGER}\\b.*\\b${ASK}\\b.*\\b(${PERSONAL}|${ALONE})`),
  re(`\\b${STRANGER_STRONG}\\b.*\\b(${PERSONAL}|${ALONE})\\b`),
  // photos, video calls, camera
  re(`\\b${STRANGER}\\b.*\\b${ASK}\\b.*\\b(${MEDIA})\\b`),
  re(
    `\\b${ASK} (me )?(to |for )?(send|sending|show|take|turn on|go on|talk on|get on|do|use|move to) (a |some |him |her |them |me )?(\\w+ )?(${MEDIA}|my bedroom|my room)`,
  ),
  re(
    `\\b(send|show|sending)( him| her| them)? (a |some |me )?(${MEDIA}) (of|in) (me|myself|my)\\b`,
  ),
  re(
    `\\b(turn|put) (on )?my camera( on)?\\b|\\bon (camera|cam|video call)\\b|\\bwith the camera\\b`,
  ),
  re(
    `\\b${ASK} (me )?(to )?(video call|video chat)\\b|\\b(video call|video chat) (him|her|them|with him|with her)\\b`,
  ),
  re(
    `\\b(wants?|asked for|asking for|send me) (nudes?|n00dz|noodz)\\b|\\bwhat (i am|im) wearing\\b`,
  ),
  // gifts in exchange
  re(`\\b${STRANGER}\\b.*\\b(${GIFT})\\b.*\\b(if i|for|and now|send|keep|photos?|secret|address)`),
  re(`\\b(${GIFT})\\b.*\\bif i (send|keep|do not tell|dont tell|show|turn)`),
  // flattery that isolates
  re(
    `\\b(mature for (my|your) age|says he loves me|said he loves me|says she loves me|he is in love with me)\\b`,
  ),
  re(`\\b(move|moved|go|switch) to (whatsapp|snapchat|telegram|kik|discord|a private chat)\\b`),
  re(
    `\\b(call|text|message) (him|her|them) (when|on my mums phone|on my mum s phone|at night)|\\buse my (mums|dads|mum s|dad s) phone when\\b`,
  ),
  re(`\\b(show|showing) (them|him|her) my (bedroom|room|body)\\b`),
];

// Secrecy, with someone from online or a stranger; an adult family member is abuse instead.
const GROOMING_SECRECY: RegExp[] = [
  re(`\\b${STRANGER}\\b.*\\b(${SECRECY})\\b`),
  re(`\\b(${SECRECY})\\b.*\\b${ONLINE}\\b|\\b${ONLINE}\\b.*\\b(${SECRECY})\\b`),
];

// --- meeting: in person, or contact with the tutor ----------------------------------------
// Meeting a planet, a dinosaur, an astronaut, a dolphin, the requirements... is not a request.
const MEET_OBJECT_OK = re(
  `\\bmeet(ing)? (the |a |an |some |real |my )?(planets?|stars?|jupiter|mars|venus|mercury|saturn|uranus|neptune|pluto|earth|moon|sun|dinosaurs?|t ?rex|triceratops|animals?|dolphins?|whales?|sharks?|penguins?|lions?|tigers?|elephants?|astronauts?|scientists?|characters?|author|queen|king|president|requirements?|deadline|goal|target|expectations|needs?|criteria|standards?|other class|team|class|new teacher|teacher|challenge|[a-z]+ at the (museum|zoo|aquarium))\\b|\\bnice to meet you\\b|\\b(rivers?|lines?|roads?|paths?|edges?|sides?) meet\\b`,
);
const MEETING: RegExp[] = [
  re(
    `\\b(lets|let us|can we|could we|shall we|should we|we should|we could|want to|wanna|do you want to|you want to|will you|would you|can you|can i) (meet|hang out|hangout|see each other)( up)?( (in real life|in person|at|after|tomorrow|tonight|today|this|on|somewhere|outside|near|by|later|soon|sometime|one day|at my|at your|\\?|\\.|!)|$)`,
  ),
  re(`\\bmeet me\\b|\\bmeet up\\b|\\bmeet (in real life|in person|face to face)\\b`),
  re(
    `\\b(wants?|wanted|asked|asks|asking|invited|told|tells|said|begged|begs) (me )?(to )?(meet|see) (me|him|her|them|up|in real life|in person)\\b`,
  ),
  re(
    `\\b(meet|meeting|see|seeing|go see|visit\\w*) (a |an |some |this |that |my |the )?(online |internet )?(guy|man|girl|boy|woman|person|someone|somebody|friend|boyfriend|girlfriend|stranger|dude|lady)\\b.*\\b(${ONLINE}|met on|from (online|the internet))`,
  ),
  re(
    `\\b(meet|meeting|see) (my|an?|this) (online|internet|gaming|gamer|game) (friend|boyfriend|girlfriend|mate|buddy)`,
  ),
  re(
    `\\b(meet|meeting) (someone|somebody|a guy|a girl|a man|a boy|him|her) (from|off) (online|the internet|${ONLINE})`,
  ),
  re(
    `\\bwhere (do|did) (you|u) live\\b|\\bwhat is (your|ur) (home )?address\\b|\\bwhere is (your|ur) house\\b`,
  ),
  re(
    `\\b(come|coming|came|go|going|get|getting) (to|over to|round to|into|in|inside) (my|his|her|their|your|ur) (house|home|flat|place|car|van|room|school)\\b(?! (for dinner|for tea|for my birthday party|with my class))`,
  ),
  re(`\\b(pick|picking|picked) me up\\b.*|\\b(wait|waiting) for me (outside|at|after|near|by)\\b`),
  re(
    `\\b(come|coming|fly|flying|drive|driving|travel\\w*) (here |over )?to (see|visit|meet) me\\b|\\bto (go )?(see|visit|meet) (him|her|them)\\b.*\\b(ticket|train|bus|secret|parents do not know|dont know)`,
  ),
  re(
    `\\b(ticket|train|bus|flight|plane|taxi|uber)\\b.*\\bto (go )?(see|visit|meet) (him|her|them)\\b`,
  ),
  re(`\\b(sneak|sneaking|sneaked|snuck) out\\b.*\\b(meet|see|online)`),
  re(`\\b(i will|ill|i can|can i) (come|come and) (visit|see you|to you)\\b|\\bcome visit\\b`),
  re(`\\bcome alone\\b|\\bcome by (yourself|urself)\\b`),
  re(`\\bget in (a|his|her|the) car with\\b|\\bgetting in (a|his|her|the) car with\\b`),
  re(
    `\\b(sweets|candy|puppy|kittens?|a present)\\b.*\\b(came|come|get) (to|in|into) (his|her|their) (car|van|house)\\b`,
  ),
];
const ALONE_INNOCENT = re(
  `\\balone (in|on) (the )?(universe|space|galaxy|solar system|planet|world|there|earth|mars|the moon|a planet|the forest|the sea|the ocean)\\b|\\b(are|is|r) (we|earth|humans|people|they|it|the \\w+|lions?|animals|the sun|stars?) alone\\b|\\bare you alone in\\b`,
);

function matchesAny(forms: string[], patterns: RegExp[]): boolean {
  return forms.some((f) => patterns.some((p) => p.test(f)));
}

// Secrets children keep happily: presents, surprises, parties.
const HAPPY_SECRET = re(`\\b(surprise|present|presents|birthday|party|gift for|christmas)\\b`);
const ABUSE_ACT_RE = re(`\\b${ABUSE_ACT} me\\b`);
const WANT_HURT = re(`\\b(on purpose|want\\w* to|going to|again|every)\\b`);

interface Rules {
  selfHarm: RegExp[];
  accident: RegExp;
  wantHurt: RegExp;
  abuse: RegExp[];
  play: RegExp;
  online: RegExp;
  happySecret: RegExp;
  abuseAct: RegExp;
  meeting: RegExp[];
  meetObjectOk: RegExp;
  grooming: RegExp[];
  groomingSecrecy: RegExp[];
  aloneInnocent: RegExp;
  unsafe: RegExp[];
}

// Filled in below, once UNSAFE is defined.
let RULES: Rules;
let SQUEEZED: Rules;

/**
 * The same rule with every doubled letter written once ("kill" -> "kil", "meet" -> "met"),
 * for text whose letters were stretched ("meeeeet" -> "met"), where it is unknown how many
 * of the stretched letters were meant. Escapes such as \\b are left alone.
 */
function squeeze(p: RegExp): RegExp {
  return new RegExp(
    p.source.replace(/(\\.)|([a-z])\2+/g, (_m, esc: string | undefined, ch: string) => esc ?? ch),
    p.flags,
  );
}

function detectWith(r: Rules, forms: string[]): DangerKind | undefined {
  const any = (patterns: RegExp[]) => forms.some((f) => patterns.some((p) => p.test(f)));
  if (any(r.selfHarm) && !forms.every((f) => r.accident.test(f) && !r.wantHurt.test(f)))
    return 'self_harm';
  const online = forms.some((f) => r.online.test(f));
  const abuse = forms.some(
    (f) =>
      r.abuse.some((p) => p.test(f)) &&
      !r.play.test(f) &&
      !(r.happySecret.test(f) && !r.abuseAct.test(f)),
  );
  if (abuse && !online) return 'abuse';
  if (forms.some((f) => r.meeting.some((p) => p.test(f)) && !r.meetObjectOk.test(f))) {
    return 'meeting';
  }
  // "are we alone in the universe" is not grooming: test the text without that phrase.
  const grooming = forms.some((f) => {
    const rest = f.replace(r.aloneInnocent, ' ');
    return (
      r.grooming.some((p) => p.test(rest)) ||
      (r.groomingSecrecy.some((p) => p.test(rest)) && !r.happySecret.test(f))
    );
  });
  if (grooming) return 'grooming';
  if (abuse) return 'abuse';
  return undefined;
}

/** The danger category of a text's plain forms; `squeezed` is the form for stretched text. */
export function detectDanger(forms: string[], squeezed?: string): DangerKind | undefined {
  return detectWith(RULES, forms) ?? (squeezed ? detectWith(SQUEEZED, [squeezed]) : undefined);
}

// --- unsafe content (medium alert, redirected): sex, drugs, alcohol, weapons, violence -----
const UNSAFE: RegExp[] = [
  re(
    `\\b(porn\\w*|p0rn\\w*|sex|sexy|sexual\\w*|sexting|nudes?|n00dz|noodz|nudity|xxx|onlyfans|hentai)\\b`,
  ),
  re(`\\bnaked\\b(?! (eye|mole|singularity|flame|truth|ape))`),
  re(
    `\\b(cocaine|coke|heroin|meth|crack|ecstasy|mdma|lsd|ketamine|weed|cannabis|marijuana|drugs|edibles)\\b.*\\b(buy|get|make|smoke|smoking|try|take|sell|where|how)\\b|\\b(buy|get|make|smoke|smoking|try|take|sell|how to make|where to buy|where can i (buy|get)) (some )?(cocaine|coke|heroin|meth|crack|ecstasy|mdma|lsd|ketamine|weed|cannabis|marijuana|drugs|edibles)\\b`,
  ),
  re(
    `\\b(vape|vapes|vaping|vaped|juul|weed pens?|weed gumm\\w*|weed brownies?|smoking weed|smoke weed|bong|joint)\\b`,
  ),
  re(
    `\\b(get|getting|got) (drunk|high|wasted|stoned)\\b|\\b(vodka|alcohol|beer|wine|cider|whisky|rum)\\b.*\\b(drunk|buy|without|sneak|drink it)`,
  ),
  re(
    `\\bhow (to|do (i|you)|can (i|you)|would (i|you)) (make|build|get|buy) (a |an )?(\\w+ )?(bomb|gun|weapon|poison|explosive|molotov|knife|grenade|pipe bomb)s?\\b`,
  ),
  re(
    `\\b(make|making|made) (a )?(pipe bomb|bomb at home|poison)\\b|\\bpoison (to put|in|into) (someones|someone s|his|her|their|a) (drink|food)`,
  ),
  re(
    `\\b(buy|get|carry|bring) (a )?(knife|gun|weapon)\\b.*\\b(without|school|secret|parents knowing)`,
  ),
  re(
    `\\b(i am going to|i am gonna|going to|gonna|i want to|i will|i would|ill|i am|im) (kill|shoot|stab|murder|strangle|poison) (you|him|her|them|people|everyone|everybody|my \\w+|the \\w+|someone|somebody)\\b`,
  ),
  re(
    `\\b(shoot|shooting|blow) up (the|my|a) (school|class|place|building)|\\bburn (down )?(the|my) (school|house)( down)?\\b|\\bburn down\\b`,
  ),
  re(`\\b(going to|gonna|will|want to) beat (him|her|them|\\w+) up\\b`),
  re(
    `\\bhack\\w* (into )?(my |a |someones |someone s |his |her |their )?(friends? |friend s |\\w+ )?(instagram|snapchat|account|password|roblox|fortnite|tiktok|email|phone)\\b`,
  ),
];

export function detectUnsafe(forms: string[], squeezed?: string): boolean {
  return (
    matchesAny(forms, RULES.unsafe) || (squeezed ? matchesAny([squeezed], SQUEEZED.unsafe) : false)
  );
}

RULES = {
  selfHarm: SELF_HARM,
  accident: ACCIDENT,
  wantHurt: WANT_HURT,
  abuse: ABUSE,
  play: PLAY,
  online: ONLINE_RE,
  happySecret: HAPPY_SECRET,
  abuseAct: ABUSE_ACT_RE,
  meeting: MEETING,
  meetObjectOk: MEET_OBJECT_OK,
  grooming: GROOMING,
  groomingSecrecy: GROOMING_SECRECY,
  aloneInnocent: ALONE_INNOCENT,
  unsafe: UNSAFE,
};
SQUEEZED = Object.fromEntries(
  Object.entries(RULES).map(([k, v]) => [k, Array.isArray(v) ? v.map(squeeze) : squeeze(v)]),
) as unknown as Rules;
