/** Who is calling, as proven by a verified access token. */
export type Principal =
  | { readonly kind: 'parent'; readonly parentId: string }
  | { readonly kind: 'child'; readonly parentId: string; readonly childId: string };

/** Which principals a route admits. */
export type AuthMode = 'public' | 'parent' | 'child' | 'parentOrChild';
