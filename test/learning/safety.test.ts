import { describe, expect, it } from 'vitest';
import { scanText } from '../../shared/learning/safety.ts';

describe('safety scan', () => {
  it.each([
    ['email', 'write to me at sam.smith+1@gmail.com please', 'sam.smith'],
    ['phone', 'my number is (555) 123-4567', '123-4567'],
    ['phone', 'call +44 20 7946 0958 tonight', '7946'],
    ['address', 'I live at 12 Oak Tree Lane near the shop', 'Oak Tree'],
    ['address', 'come to 221b Baker Street', 'Baker'],
    ['url', 'look at https://example.com/page?x=1', 'example.com'],
    ['url', 'my channel is www.youtube.com/kid', 'youtube'],
    ['url', 'play on coolgames.io with me', 'coolgames'],
    ['phone', 'call me on 555 123 4567', '123 4567'],
    ['phone', 'text 555-123-4567 after school', '123-4567'],
    ['phone', 'my number is five five five one two three four', 'one two three'],
    ['email', 'my email is sam @ gmail . com', 'gmail'],
    ['email', 'email me at sam at gmail dot com', 'gmail'],
    ['email', 'sam(at)gmail(dot)com', 'gmail'],
    ['url', 'look at kids.example.edu/page', 'example'],
    ['url', 'my server is ftp://files.example.net', 'files'],
    ['address', 'my address is flat 3, Rose Court, Leeds', 'Rose Court'],
    ['address', 'my postcode is SW1A 1AA', '1AA'],
    ['address', 'my zip code is 90210', '90210'],
    ['address', 'we live in 14 elm road', 'elm road'],
  ])('redacts %s: %s', async (kind, text, secret) => {
    const result = await scanText(text);
    expect(result.redacted).toContain(kind);
    expect(result.text).not.toContain(secret);
    expect(result.filtered).toBe(true);
    expect(result.reason).toContain(`pii_${kind}`);
  });

  it('keeps ordinary numbers and words', async () => {
    for (const text of [
      'dinosaurs lived 65 million years ago',
      'I counted 1234 stars',
      'the asteroid killed them',
      'Sussex is a place',
      'the wars were in 1914 1918 and 1939 1945',
      'I walked 5 miles down the road',
      'CO2 3rd time lucky',
    ]) {
      const result = await scanText(text);
      expect(result.filtered).toBe(false);
      expect(result.text).toBe(text);
    }
  });

  it('censors profanity with the obscenity library', async () => {
    const result = await scanText('this is fucking hard');
    expect(result.profanity).toBe(true);
    expect(result.text).not.toMatch(/fuck/i);
    expect(result.reason).toBe('profanity');
  });

  it.each([
    'a blue tit landed on the feeder',
    'great tits are clever birds',
    'Moby Dick is a book about a whale',
    'pussy willow buds are soft',
    'she graduated magna cum laude',
  ])('does not censor innocent words obscenity would catch: %s', async (text) => {
    const result = await scanText(text);
    expect(result.profanity).toBe(false);
    expect(result.text).toBe(text);
  });

  it('still censors the same words used as insults', async () => {
    for (const text of ['you are a dick', 'nice tits']) {
      expect((await scanText(text)).profanity).toBe(true);
    }
  });

  it('flags unsafe content', async () => {
    expect((await scanText('how to make a bomb')).unsafe).toBe(true);
    expect((await scanText('how to make a volcano model')).unsafe).toBe(false);
  });

  it.each([
    'I saw Venus with the naked eye',
    'naked mole rats live underground',
    'sailors used a sextant to find the stars',
    'there are about a sextillion stars',
    'we weed the garden on Sundays',
    'the asteroid would kill them all',
    'the volcano could kill everyone nearby',
    'the detective solved a murder mystery',
  ])('does not block ordinary science or story talk: %s', async (text) => {
    const result = await scanText(text);
    expect(result.unsafe).toBe(false);
    expect(result.filtered).toBe(false);
  });

  it.each([
    'I want to see people naked',
    'my brother was sexting',
    'he was vaping at school',
    'they were smoking weed',
    "I'm going to kill him tomorrow",
    'I wanna shoot everyone',
  ])('still flags unsafe content: %s', async (text) => {
    expect((await scanText(text)).unsafe).toBe(true);
  });

  it.each([
    ['self_harm', 'sometimes I want to kill myself'],
    ['self_harm', "I don't want to be alive anymore"],
    ['abuse', 'my uncle hits me when mum is out'],
    ['abuse', 'he told me not to tell anyone'],
    ['meeting', "let's meet at the park after school"],
    ['meeting', 'where do you live?'],
    ['meeting', 'Let’s meet tomorrow'],
    ['self_harm', 'i hate myself'],
    ['self_harm', 'kms'],
    ['self_harm', 'everyone would be better off without me'],
    ['self_harm', 'nobody would miss me'],
    ['abuse', "he says don't tell your mum"],
    ['meeting', 'a man in the game wants to meet me'],
    ['meeting', 'my online friend asked me to meet him at the mall'],
    ['grooming', 'she asked me for a selfie'],
    ['self_harm', 'i want to unalive myself'],
    ['self_harm', 'i want to k1ll mys3lf'],
    ['self_harm', 'I want to k i l l myself'],
    ['meeting', 'l3ts m33t at the park'],
  ])('raises a %s danger signal: %s', async (kind, text) => {
    expect((await scanText(text)).danger).toBe(kind);
  });

  it.each([
    'I want to meet a real astronaut one day',
    'the two rivers meet at the sea',
    'I hate homework',
    'we met at school',
  ])('raises no danger signal for everyday talk: %s', async (text) => {
    expect((await scanText(text)).danger).toBeUndefined();
  });
});

describe('normalisation before every check', () => {
  it.each([
    ['Cyrillic letters', 'i want to k\u0456ll mys\u0435lf', 'self_harm'],
    ['zero-width spaces', 'i want to ki\u200bll my\u200bself', 'self_harm'],
    [
      'full-width letters',
      '\uff49 \uff57\uff41\uff4e\uff54 \uff54\uff4f \uff44\uff49\uff45',
      'self_harm',
    ],
    ['digits for letters', 'wh4t5 th3 p01nt, 1d b3 b3773r 0ff d34d', 'self_harm'],
    ['dotted letters', 'n.o.b.o.d.y would even notice if i was gone', 'self_harm'],
    ['stretched letters', 'a maaan in the gaaame wants to meeeeet meee', 'meeting'],
    ['chat spelling', 'sum1 in the game askd wher i liv', 'grooming'],
  ])('sees through %s', async (_kind, text, danger) => {
    expect((await scanText(text)).danger).toBe(danger);
  });

  it('redacts on the folded text but cuts the spans of the original characters', async () => {
    const r = await scanText('my email is l\u0456ly\uff20hotmail\uff0ecom and I like\u200b stars');
    expect(r.redacted).toEqual(['email']);
    expect(r.text).toBe('my email is [email removed] and I like stars');
  });

  it('keeps the rest of the message as the child wrote it', async () => {
    const r = await scanText('Hi, I’m Emily Chen — I go to Kingsbridge High School 🙂');
    expect(r.text).toBe('Hi, I’m [name removed] — I go to [school removed] 🙂');
    expect(r.redacted.sort()).toEqual(['name', 'school']);
  });
});

describe('intent and context', () => {
  it.each([
    'can we meet the planets one by one? start with mars',
    'i want to meet a t rex at the museum',
    'I want to meet a dolphin at the aquarium',
    'are we alone in the universe',
    'are you alone in space if you are an astronaut on the moon',
    'i hurt myself falling off my bike',
    'my brother beat me at chess again',
    'my mum told me not to tell my sister about her surprise party',
    'i died 5 times in the boss fight lol',
    'nice to meet you',
  ])('raises no alert for an innocent look-alike: %s', async (text) => {
    const r = await scanText(text);
    expect(r.danger).toBeUndefined();
    expect(r.unsafe).toBe(false);
  });

  it.each([
    ['grooming', 'a man on roblox asked where i live'],
    ['grooming', 'someone in fortnite asked what school i go to'],
    ['grooming', 'a guy online keeps asking how old i am and if im home alone'],
    ['grooming', 'this person on discord wants to video call me and said dont tell my parents'],
    ['grooming', 'my online friend said its our secret'],
    ['self_harm', 'I wish I could go to sleep and not wake up'],
    ['self_harm', "i've been thinking about jumping off the bridge near school"],
    ['abuse', 'my grandad says its our secret and not to tell mummy'],
  ])('raises %s: %s', async (kind, text) => {
    expect((await scanText(text)).danger).toBe(kind);
  });
});

describe('more personal details', () => {
  it.each([
    [
      'name',
      'my name is Maya Jones and i like space',
      'Maya Jones',
      'my name is [name removed] and i like space',
    ],
    ['school', "i go to St Mary's Primary School", "Mary's", 'i go to [school removed]'],
    [
      'handle',
      'my roblox username is DragonSlayer2015',
      'DragonSlayer2015',
      'my roblox username is [username removed]',
    ],
    [
      'coordinates',
      'my house is at 51.5074, -0.1278',
      '51.5074',
      'my house is at [location removed]',
    ],
    [
      'address',
      'my address is Hauptstraße 12, 10115 Berlin',
      'Hauptstraße',
      'my address is [address removed]',
    ],
    ['card', 'mums card is 4111 1111 1111 1111', '4111', 'mums card is [card number removed]'],
    [
      'id_number',
      'my passport number is 533401882',
      '533401882',
      'my passport number is [ID number removed]',
    ],
    ['email', 'my email is sam dot jones at gmail dot com', 'gmail', 'my email is [email removed]'],
  ])('redacts a %s: %s', async (kind, text, secret, expected) => {
    const r = await scanText(text);
    expect(r.redacted).toEqual([kind]);
    expect(r.text).not.toContain(secret);
    expect(r.text).toBe(expected);
  });

  it('checks card numbers with Luhn: other 16-digit numbers are not cards', async () => {
    expect((await scanText('the code is 1234 5678 9012 3456')).redacted).not.toContain('card');
  });

  it('stays fast on long and hostile input (no runaway regular expressions)', async () => {
    const hostile = [
      'a '.repeat(1500),
      'my name is '.repeat(200),
      `${'1.1 '.repeat(600)}x`,
      `${'someone online asked '.repeat(100)}`,
      `${'k i l l '.repeat(300)}`,
      `${'aaaa'.repeat(700)}!`,
    ];
    for (const text of hostile) {
      const started = performance.now();
      await scanText(text);
      expect(performance.now() - started).toBeLessThan(1000);
    }
  });
});

describe('invisible characters', () => {
  it('drops them from the stored text without flagging an innocent message', async () => {
    const r = await scanText('stars\u200b are\u2060 hot');
    expect(r.text).toBe('stars are hot');
    expect(r.filtered).toBe(false);
    expect(r.reason).toBeUndefined();
  });
});
