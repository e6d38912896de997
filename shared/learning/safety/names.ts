// Common first names (lower case) from many countries, for "I'm <name>" introductions, where
// the words after "I'm" are usually not a name ("I'm happy", "im going"). After "my name is",
// "call me" or "my sister is called", any word is taken as a name and this list is not needed.
export const FIRST_NAMES = new Set(
  `aaliyah aaron abdul abdullah abigail ada adam adele aditya adrian ahmed aiden aisha alex alexa
alexander alexandra alfie ali alice alicia alina amanda amara amber amelia amir amy ana anastasia
andrea andrew angela anna annabelle anthony archie aria ariana arjun arthur arya asher ashley
aston austin ava avery ayaan ayesha bailey beatrice bella ben benjamin bethany billy blake bobby
bonnie brandon brooke caleb callum cameron camila carlos caroline carter charlie charlotte chen
chloe christian christopher clara cody connor cooper daisy daniel daniela darius david declan
dev dexter diego dominic dylan eden edward eleanor elena eli elijah eliza elizabeth ella ellie
eloise elsa emil emilia emily emma erin ethan eva evan evelyn ezra faith farah fatima felix finley
finn florence freddie freya gabriel gabriella george georgia gianna grace gracie hamza hana hannah
harley harper harriet harrison harry harvey hassan hazel heidi henry hugo ibrahim imogen iris isaac
isabel isabella isabelle isaiah isla ismail ivan ivy jack jackson jacob jade jake james jamie jan
jasmine jason jaxon jay jayden jenna jennifer jessica jo joe joel john jonah jonathan jordan jose
joseph joshua juan julia julian juliet kai kayla keira ken kevin khadija kian kim kyle lara laura
layla leah leila lena leo leon levi liam lily lina logan lola louie louis luca lucas lucia lucy luis
luke luna lydia maddie madison maisie maria mariam marta mason mateo matilda matteo matthew max
maya megan mia michael mila millie mohammed mohammad muhammad molly nadia naomi nathan nina noah
nora nova oliver olivia omar oscar owen paige patrick phoebe poppy priya rafael rahul rania reuben
riley rosie ruby ryan sadie safa sam samantha samuel sara sarah scarlett sebastian sienna sofia
sophia sophie stanley stella summer tanya taylor teddy theo theodore thomas tilly toby tom tommy
tyler valentina victoria violet william willow xavier yara yusuf zac zachary zain zara zoe zoey
ahmad ananya diya ishaan kabir krish meera neha riya rohan saanvi vihaan wei xin yuki hiro sakura
kenji aiko mei lin jun min ji hye seo yeon chidi chioma kwame amara ngozi tunde ade femi kofi
santiago sebastián valeria ximena lucía mateus joão pedro gustavo enzo giulia francesco lorenzo
sven lars astrid ingrid freja mohamed youssef yasmin leyla elif emre mehmet aylin deniz`
    .split(/\s+/)
    .filter(Boolean),
);

// Names that are also everyday words: taken after "I'm" only when written with a capital.
export const AMBIGUOUS_NAMES = new Set(
  'grace faith summer ruby lily willow ivy jade amber violet rosie poppy hazel iris max mason jack jay will bobby billy kim jo jan ken min ji jun lin mei hope joy sky may april june art bill mark pat sunny'.split(
    ' ',
  ),
);
