// Nightly: one cognitive_metrics row per child active in the last 30 days (shared/jobs).
import { runCognitiveScoring } from '../../shared/jobs/cognitive-scoring.ts';
import { defineJob } from '../../shared/runtime/job.ts';

export const cognitiveScoring = defineJob('cognitive-scoring', {
  run: (args) => runCognitiveScoring(args),
});
