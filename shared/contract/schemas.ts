// Response shapes of the HTTP API (zod), as the services build them. The OpenAPI document
// (shared/contract/openapi.ts) is generated from these and the routes' own input schemas; the
// contract suite (test/contract) validates every response the HTTP tests receive against it.
// A schema carrying `.meta({ id })` becomes a named component of the document.
import { z } from 'zod';
import { consentTypes } from '../accounts/consents.ts';
import { AGE_GROUPS, CATEGORIES, CONVERSATION_TYPES } from '../learning/types.ts';
import { NOTIFICATION_KEYS } from '../notify/settings.ts';

const id = z.uuid();
const dateTime = z.iso.datetime({ offset: true });
const date = z.iso.date();
const jsonObject = z.record(z.string(), z.unknown());

export const AgeGroup = z.enum(AGE_GROUPS).meta({ id: 'AgeGroup' });
export const Category = z.enum(CATEGORIES).meta({ id: 'Category' });
export const ConversationType = z.enum(CONVERSATION_TYPES).meta({ id: 'ConversationType' });
export const ConsentType = z.enum(consentTypes).meta({ id: 'ConsentType' });

// ---- accounts ----

export const Parent = z
  .object({
    id,
    email: z.string(),
    authProvider: z.string(),
    displayName: z.string().nullable(),
    timezone: z.string(),
    locale: z.string(),
    subscriptionTier: z.string(),
    subscriptionExpiresAt: dateTime.nullable(),
    settings: jsonObject,
    createdAt: dateTime,
    updatedAt: dateTime,
    lastLoginAt: dateTime.nullable(),
  })
  .meta({ id: 'Parent', description: 'The signed-in parent account.' });

export const TokenPair = z
  .object({
    accessToken: z.string().meta({ description: 'JWT, sent as `Authorization: Bearer ...`' }),
    tokenType: z.literal('Bearer'),
    expiresIn: z.number().int().meta({ description: 'Seconds until the access token expires' }),
    refreshToken: z.string(),
    refreshTokenExpiresAt: dateTime,
  })
  .meta({ id: 'TokenPair' });

export const Session = TokenPair.extend({ parent: Parent }).meta({
  id: 'Session',
  description: 'A parent sign-in: tokens and the account.',
});

export const ChildSettings = jsonObject.meta({
  id: 'ChildSettings',
  description:
    'sound_enabled, voice_over_enabled, animation_level, daily_time_limit_minutes, bedtime_start, bedtime_end (and keys stored before they were typed).',
});

export const Child = z
  .object({
    id,
    name: z.string(),
    birthDate: date,
    age: z.number().int(),
    ageGroup: AgeGroup,
    avatarId: z.string(),
    interests: z.array(z.string()),
    vocabularyLevel: z.number().int(),
    settings: ChildSettings,
    leaderboardOptIn: z.boolean(),
    nickname: z.string().nullable(),
    hasPin: z.boolean(),
    createdAt: dateTime,
    updatedAt: dateTime,
    lastActiveAt: dateTime.nullable(),
  })
  .meta({ id: 'Child' });

export const ChildForChild = Child.extend({
  notice: z.string().meta({ description: 'Tells the child that the parent can read along.' }),
}).meta({ id: 'ChildForChild', description: 'A child profile as the child itself sees it.' });

export const PendingDeletion = z
  .object({ id, name: z.string(), deletedAt: dateTime, deleteAfter: dateTime })
  .meta({ id: 'PendingDeletion' });

export const ChildList = z
  .object({ children: z.array(Child), pendingDeletion: z.array(PendingDeletion) })
  .meta({ id: 'ChildList' });

export const ChildSession = z
  .object({
    accessToken: z.string(),
    tokenType: z.literal('Bearer'),
    expiresIn: z.number().int(),
    child: z.object({
      id,
      name: z.string(),
      ageGroup: AgeGroup,
      avatarId: z.string(),
      interests: z.array(z.string()),
      settings: ChildSettings,
    }),
    notice: z.string(),
  })
  .meta({ id: 'ChildSession', description: 'A child session token, opened by the parent.' });

export const Consent = z
  .object({
    id,
    type: ConsentType,
    version: z.string(),
    grantedAt: dateTime.nullable(),
    revokedAt: dateTime.nullable(),
    ipAddress: z.string().nullable(),
    userAgent: z.string().nullable(),
    revokedIpAddress: z.string().nullable(),
    revokedUserAgent: z.string().nullable(),
    createdAt: dateTime,
  })
  .meta({ id: 'Consent' });

export const ConsentList = z
  .object({
    status: z.array(
      z.object({
        type: ConsentType,
        required: z.boolean(),
        currentVersion: z.string(),
        granted: z.boolean(),
        grantedAt: dateTime.nullable(),
      }),
    ),
    history: z.array(Consent),
  })
  .meta({ id: 'ConsentList' });

export const ConsentRevocation = z
  .object({ revoked: z.array(Consent), childrenScheduledForDeletion: z.number().int() })
  .meta({ id: 'ConsentRevocation' });

export const Device = z
  .object({
    id,
    platform: z.enum(['ios', 'android', 'web']),
    createdAt: dateTime,
    lastSeenAt: dateTime,
  })
  .meta({ id: 'Device' });

export const DeviceList = z.object({ devices: z.array(Device) }).meta({ id: 'DeviceList' });

export const Unsubscribed = z
  .object({ setting: z.enum(NOTIFICATION_KEYS), enabled: z.literal(false) })
  .meta({ id: 'Unsubscribed' });

export const FamilyExport = jsonObject.meta({
  id: 'FamilyExport',
  description: 'Every row of the family, by table (shared/accounts/parents.ts EXPORTED_TABLES).',
});

// ---- learning ----

export const Conversation = z
  .object({
    id,
    type: ConversationType,
    topicId: id.nullable(),
    brainSparkId: id.nullable(),
    startedAt: dateTime,
    endedAt: dateTime.nullable(),
    depthReached: z.number().int(),
    questionsAsked: z.number().int(),
    ahaMoments: z.number().int(),
    summary: z.string().nullable(),
    keyInsights: z.array(z.string()),
  })
  .meta({ id: 'Conversation' });

export const Message = z
  .object({
    id,
    role: z.enum(['user', 'assistant', 'system']),
    content: z.string(),
    choices: z.array(z.string()).nullable(),
    selectedChoiceIndex: z.number().int().nullable(),
    isFreeForm: z.boolean(),
    wasFiltered: z.boolean(),
    filterReason: z.string().nullable().meta({
      description: 'Why the message was flagged: for the parent only (null for a child).',
    }),
    createdAt: dateTime,
  })
  .meta({ id: 'Message' });

export const StartedConversation = z
  .object({
    conversation: Conversation,
    message: Message,
    parentCanRead: z.literal(true),
    notice: z.string(),
  })
  .meta({ id: 'StartedConversation' });

export const PostedMessage = z
  .object({
    message: Message,
    reply: Message,
    conversation: Conversation,
    rewards: z.object({
      starsEarned: z.number().int(),
      badgesEarned: z.array(z.string()),
      topicsUnlocked: z.array(z.string()),
      streak: z.object({
        current: z.number().int(),
        longest: z.number().int(),
        countedToday: z.boolean(),
        freezes: z.number().int(),
        freezeEarned: z.boolean(),
      }),
    }),
    safety: z.object({ redacted: z.array(z.string()), filtered: z.boolean() }),
    parentCanRead: z.literal(true),
  })
  .meta({ id: 'PostedMessage' });

export const EndedConversation = z
  .object({
    conversation: Conversation,
    closing: Message.nullable(),
    starsEarned: z.number().int(),
    brainSparkCompleted: z.boolean(),
    badgesEarned: z.array(z.string()),
  })
  .meta({ id: 'EndedConversation' });

export const Transcript = z
  .object({
    conversation: Conversation,
    messages: z.array(Message),
    parentCanRead: z.literal(true),
  })
  .meta({ id: 'Transcript' });

export const ConversationList = z
  .object({ conversations: z.array(Conversation) })
  .meta({ id: 'ConversationList' });

export const BrainSpark = z
  .object({
    id,
    sparkDate: date,
    ageGroup: AgeGroup,
    sparkType: z.string(),
    question: z.string(),
    hints: z.array(z.string()),
    followUps: z.array(z.string()),
    topicId: id.nullable(),
    topicCategory: Category.nullable(),
    difficulty: z.number().int(),
  })
  .meta({ id: 'BrainSpark' });

export const TodaysSpark = z
  .object({
    spark: BrainSpark,
    localDate: date,
    completedToday: z.boolean(),
    openConversationId: id.nullable(),
  })
  .meta({ id: 'TodaysSpark' });

export const SparkCompletion = z
  .discriminatedUnion('action', [
    StartedConversation.extend({ action: z.literal('started'), spark: BrainSpark }),
    z.object({
      action: z.literal('in_progress'),
      spark: BrainSpark,
      conversation: Conversation,
      hint: z.string(),
    }),
    EndedConversation.extend({ action: z.literal('completed'), spark: BrainSpark }),
  ])
  .meta({
    id: 'SparkCompletion',
    description:
      '`started` (201): no spark conversation was open, one is started; `in_progress`: answer first; `completed`: ended and rewarded.',
  });

const position = z.object({ x: z.number(), y: z.number() });

export const CatalogueTopic = z
  .object({
    id,
    slug: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    category: Category,
    subcategory: z.string().nullable(),
    icon: z.string(),
    color: z.string(),
    position,
    prerequisites: z.array(z.string()),
    prerequisiteDepth: z.number().int(),
    minAgeGroup: AgeGroup.nullable(),
  })
  .meta({ id: 'CatalogueTopic' });

export const TopicCatalogue = z
  .object({ ageGroup: AgeGroup, topics: z.array(CatalogueTopic) })
  .meta({ id: 'TopicCatalogue' });

export const Constellation = z
  .object({
    ageGroup: AgeGroup,
    topics: z.array(
      z.object({
        id,
        slug: z.string(),
        name: z.string(),
        description: z.string().nullable(),
        category: Category,
        icon: z.string(),
        color: z.string(),
        position,
        prerequisites: z.array(z.string()),
        prerequisiteDepth: z.number().int(),
        unlocked: z.boolean(),
        unlockedAt: dateTime.nullable(),
        depth: z.number().int(),
        mastered: z.boolean(),
      }),
    ),
    connections: z.array(z.object({ from: id, to: id, strength: z.string(), type: z.string() })),
  })
  .meta({ id: 'Constellation' });

export const TopicProgress = z
  .object({
    topicId: id,
    slug: z.string(),
    name: z.string(),
    category: z.string(),
    depth: z.number().int(),
    timeSpentSeconds: z.number().int(),
    questionsAsked: z.number().int(),
    conversations: z.number().int(),
    unlockedAt: dateTime.nullable(),
    firstDepth5At: dateTime.nullable(),
    masteredAt: dateTime.nullable(),
    lastInteraction: dateTime.nullable(),
  })
  .meta({ id: 'TopicProgress' });

export const ProgressList = z
  .object({
    topics: z.array(TopicProgress),
    totals: z.object({
      topicsUnlocked: z.number().int(),
      topicsExplored: z.number().int(),
      topicsMastered: z.number().int(),
      timeSpentSeconds: z.number().int(),
      questionsAsked: z.number().int(),
    }),
  })
  .meta({ id: 'ProgressList' });

export const Streak = z
  .object({
    current: z.number().int(),
    longest: z.number().int(),
    lastActivityDate: date.nullable(),
    today: date,
    activeToday: z.boolean(),
    atRisk: z.boolean(),
    freezesAvailable: z.number().int(),
    history: z.array(
      z.object({
        date,
        streak: z.number().int(),
        activity: z.boolean(),
        freeze_used: z.boolean().optional(),
      }),
    ),
  })
  .meta({ id: 'Streak' });

const Badge = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  icon: z.string(),
});
export const Cosmetic = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(['avatar_accessory', 'constellation_theme', 'tutor_voice']),
    price: z.number().int(),
  })
  .meta({ id: 'Cosmetic' });

export const RewardCatalogue = z
  .object({
    badges: z.array(Badge),
    cosmetics: z.array(Cosmetic),
    stars: z.record(z.string(), z.number().int()),
  })
  .meta({ id: 'RewardCatalogue' });

export const Rewards = z
  .object({
    stars: z.number().int(),
    badges: z.array(Badge.extend({ earnedAt: dateTime })),
    freezesEarned: z.number().int(),
    cosmetics: z.array(Cosmetic.extend({ boughtAt: dateTime })),
    unlocks: z.number().int(),
  })
  .meta({ id: 'Rewards' });

export const Purchase = z
  .object({ item: Cosmetic, stars: z.number().int() })
  .meta({ id: 'Purchase' });

export const Leaderboard = z
  .object({
    ageGroup: AgeGroup,
    optedIn: z.boolean(),
    nickname: z.string().nullable(),
    entries: z.array(
      z.object({
        rank: z.number().int(),
        nickname: z.string(),
        avatarId: z.string(),
        currentStreak: z.number().int(),
        isYou: z.boolean(),
      }),
    ),
  })
  .meta({ id: 'Leaderboard' });

export const LeaderboardOptIn = z
  .object({ optedIn: z.boolean(), nickname: z.string().nullable() })
  .meta({ id: 'LeaderboardOptIn' });

export const Overview = z
  .object({
    childId: id,
    today: date,
    streak: z.object({
      current: z.number().int(),
      longest: z.number().int(),
      activeToday: z.boolean(),
      freezes: z.number().int(),
    }),
    stars: z.number().int(),
    badges: Rewards.shape.badges,
    unreadAlerts: z.number().int(),
    recentConversations: z.array(
      z.object({
        id,
        type: z.string(),
        summary: z.string().nullable(),
        startedAt: dateTime,
        depthReached: z.number().int(),
      }),
    ),
  })
  .meta({ id: 'Overview' });

export const DailyActivity = z
  .object({
    from: date,
    to: date,
    timezone: z.string(),
    days: z.array(
      z.object({
        date,
        timeSeconds: z.number().int(),
        sessions: z.number().int(),
        conversationsStarted: z.number().int(),
        questionsAsked: z.number().int(),
        depthIncreases: z.number().int(),
        ahaMoments: z.number().int(),
        topicsExplored: z.array(z.string()),
        newTopicsUnlocked: z.array(z.string()),
        brainSparkCompleted: z.boolean(),
        starsEarned: z.number().int(),
        badgesEarned: z.array(z.string()),
      }),
    ),
    totals: z.object({
      activeDays: z.number().int(),
      timeSeconds: z.number().int(),
      questionsAsked: z.number().int(),
      ahaMoments: z.number().int(),
      starsEarned: z.number().int(),
    }),
  })
  .meta({ id: 'DailyActivity' });

const score = z.number().nullable();
export const CognitiveMetrics = z
  .object({
    from: date,
    to: date,
    points: z.array(
      z.object({
        date,
        criticalThinking: score,
        creativeThinking: score,
        logicalReasoning: score,
        knowledgeConnection: score,
        curiosityIndex: score,
        conversationsAnalyzed: z.number().int().nullable(),
        confidence: score,
      }),
    ),
  })
  .meta({ id: 'CognitiveMetrics' });

export const Flags = z
  .object({
    flags: z.array(
      z.object({
        messageId: id,
        conversationId: id,
        role: z.string(),
        content: z.string(),
        reasons: z.array(z.string()),
        createdAt: dateTime,
      }),
    ),
  })
  .meta({ id: 'Flags' });

export const Alert = z
  .object({
    id,
    childId: id,
    conversationId: id.nullable(),
    messageId: id.nullable(),
    severity: z.string(),
    reason: z.string(),
    createdAt: dateTime,
    readAt: dateTime.nullable(),
  })
  .meta({ id: 'Alert' });

export const AlertList = z.object({ alerts: z.array(Alert) }).meta({ id: 'AlertList' });
export const AlertRead = z.object({ id, readAt: dateTime }).meta({ id: 'AlertRead' });

// ---- health ----

export const Health = z
  .object({
    status: z.enum(['ok', 'degraded']),
    database: z.object({
      ready: z.boolean(),
      latencyMs: z.number(),
      migration: z.string().nullable().optional(),
    }),
  })
  .meta({ id: 'Health' });

export const Live = z.object({ status: z.literal('ok') }).meta({ id: 'Live' });
