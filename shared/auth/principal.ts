/**
 * Who is calling, as proven by a verified access token. `sessionId` is the sign-in (refresh
 * token family) the token belongs to; a child session also carries its child's session
 * version. Both let a logout, account deletion or PIN change end the token early.
 */
export type Principal =
  | { readonly kind: 'parent'; readonly parentId: string; readonly sessionId?: string }
  | {
      readonly kind: 'child';
      readonly parentId: string;
      readonly childId: string;
      readonly sessionId?: string;
      readonly sessionVersion?: number;
    };

/** Which principals a route admits. */
export type AuthMode = 'public' | 'parent' | 'child' | 'parentOrChild';
