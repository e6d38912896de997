export const AGE_GROUPS = ['wonder_cubs', 'curious_explorers', 'mind_masters'] as const;
export type AgeGroup = (typeof AGE_GROUPS)[number];

export const CATEGORIES = ['science', 'humanities', 'creative', 'logic', 'philosophy'] as const;
export type Category = (typeof CATEGORIES)[number];

export const CONVERSATION_TYPES = ['exploration', 'brain_spark', 'story', 'debate'] as const;
export type ConversationType = (typeof CONVERSATION_TYPES)[number];

export const ageGroupRank = (group: AgeGroup): number => AGE_GROUPS.indexOf(group);

/** Shown to the child whenever a session opens or a conversation starts (product rule:
 * children are told). */
export const PARENT_CAN_READ_NOTICE =
  'Your grown-up can read your conversations with me, so they can help you explore and keep you safe.';
