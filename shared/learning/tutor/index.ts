// Chooses the tutor for one child. The external model sees a child's text only when the
// parent granted data_sharing; everyone else gets the built-in tutor.
import { config } from '../../config.ts';
import { builtinTutor } from './builtin.ts';
import type { Tutor } from './types.ts';
import { createVertexTutor } from './vertex.ts';

export function tutorFor(learner: { dataSharing: boolean }): Tutor {
  const cfg = config();
  const project = cfg.VERTEX_PROJECT ?? cfg.GOOGLE_CLOUD_PROJECT;
  if (cfg.TUTOR_PROVIDER !== 'vertex' || !learner.dataSharing || !project) return builtinTutor;
  return createVertexTutor({
    endpoint: cfg.VERTEX_ENDPOINT,
    project,
    location: cfg.VERTEX_LOCATION,
    model: cfg.VERTEX_MODEL,
    timeoutMs: cfg.VERTEX_TIMEOUT_MS,
    auth: cfg.VERTEX_AUTH,
    fallback: builtinTutor,
  });
}

export { builtinTutor } from './builtin.ts';
export type { Tutor, TutorContext, TutorReply } from './types.ts';
