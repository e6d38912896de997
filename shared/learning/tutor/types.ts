import type { AgeGroup, Category, ConversationType } from '../types.ts';

export interface TutorTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface TutorContext {
  ageGroup: AgeGroup;
  category: Category;
  conversationType: ConversationType;
  topic: { name: string; slug: string; description: string | null } | null;
  brainSpark: { question: string; hints: string[]; followUps: string[] } | null;
  /** Child answers so far, this one included (0 for the opening message). */
  turn: number;
  /** Depth reached before this reply. */
  depth: number;
  /** The child's (already safety-checked) answer; null for the opening message. */
  childMessage: { text: string; isFreeForm: boolean; choiceIndex: number | null } | null;
  /** Earlier messages, oldest first (safety-checked text only). */
  history: TutorTurn[];
}

export interface TutorReply {
  text: string;
  /** 2-4 answers the child can tap. */
  choices: string[];
  /** 0 or 1: did this exchange go deeper. */
  depthChange: number;
  ahaMoment: boolean;
  tokensUsed: number;
}

export interface Tutor {
  readonly name: string;
  reply(ctx: TutorContext): Promise<TutorReply>;
}
