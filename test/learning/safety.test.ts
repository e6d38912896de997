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
    ['meeting', 'she asked me for a selfie'],
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
