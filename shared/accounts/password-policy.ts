// Password acceptance (NIST SP 800-63B 3.1.1.2): at least 10 characters (the schema), and not
// a commonly used or breached password, a keyboard/sequence/repeat pattern, or one built from
// the account's own email or name. zxcvbn with the common-password list does the estimating;
// it is loaded on first use only (about 0.5 s), so a cold start that signs nobody up skips it.
import { AppError } from '../errors.ts';

/** zxcvbn score (0-4) a password needs: 3 is "safely unguessable" (about 10^8 guesses or more). */
export const MIN_PASSWORD_SCORE = 3;

type Checker = (password: string, userInputs: string[]) => { score: number; warning: string };

let checker: Promise<Checker> | undefined;

function loadChecker(): Promise<Checker> {
  checker ??= (async () => {
    const [{ ZxcvbnFactory }, common, en] = await Promise.all([
      import('@zxcvbn-ts/core'),
      import('@zxcvbn-ts/language-common'),
      import('@zxcvbn-ts/language-en'),
    ]);
    // The common-password list and keyboard graphs; the English word lists cost ~8x per check
    // and ~1 s more to load for little gain once the breached-password list is in.
    const factory = new ZxcvbnFactory({
      dictionary: common.dictionary,
      graphs: common.adjacencyGraphs,
      translations: en.translations,
    });
    return (password, userInputs) => {
      const result = factory.check(password, userInputs);
      return { score: result.score, warning: result.feedback.warning ?? '' };
    };
  })();
  return checker;
}

/** Words of the account a password must not be built from: the email, its parts, the name. */
export function contextWords(context: { email?: string | undefined; name?: string | undefined }) {
  const words = new Set<string>();
  const add = (w: string | undefined) => {
    const word = w?.trim().toLowerCase();
    if (word && word.length >= 3) words.add(word);
  };
  const email = context.email?.trim().toLowerCase();
  if (email) {
    add(email);
    const [local = '', domain = ''] = email.split('@');
    add(local);
    add(local.replace(/[^a-z0-9]/g, ''));
    for (const part of local.split(/[^a-z0-9]+/)) add(part);
    add(domain.split('.')[0]);
  }
  if (context.name) {
    add(context.name);
    add(context.name.replace(/\s+/g, ''));
    for (const part of context.name.split(/\s+/)) add(part);
  }
  add('brainspark');
  return [...words];
}

/** Throws 400 `weak_password` unless the password is acceptable for this account. */
export async function assertStrongPassword(
  password: string,
  context: { email?: string | undefined; name?: string | undefined },
): Promise<void> {
  const words = contextWords(context);
  const lowered = password.toLowerCase().replace(/[^a-z0-9]/g, '');
  // zxcvbn matches context words as dictionary entries; a password that is mostly one of them
  // (with digits or symbols around it) is refused outright.
  const similar = words.some((w) => {
    const bare = w.replace(/[^a-z0-9]/g, '');
    return bare.length >= 4 && lowered.includes(bare) && lowered.length - bare.length < 6;
  });
  const check = await loadChecker();
  const { score, warning } = check(password, words);
  if (similar || score < MIN_PASSWORD_SCORE) {
    throw new AppError('weak_password', 'Choose a less common password', {
      fieldErrors: [
        {
          path: 'body.password',
          message: similar
            ? 'Do not build the password from your email or name'
            : warning || 'This password is too easy to guess; try a few unrelated words',
        },
      ],
    });
  }
}
