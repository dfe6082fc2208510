// Reads of local state in the domain's terms (domain.md). No DOM.
import * as storage from './storage.js';
import { naturalId } from './ids.js';
import { values } from './records.js';

export const STAGES = ['design', 'delivery', 'review'];
export const PRINCIPLES = ['diversity', 'equality', 'accessibility', 'reciprocity'];
export const ROLES = ['child', 'young_person', 'parent_carer', 'professional', 'other'];
export const AGES = ['under_13', '13_to_17', '18_to_25', '26_or_over', 'prefer_not_to_say'];
export const NOTICE_VERSION = '1';

async function all(type) {
  return (await storage.getRecords(type)).map(values).filter(Boolean);
}

/** Who the next entry is about, and how it is recorded. */
export function subject(session, visit) {
  if (!session) return null;
  if (session.kind === 'participant') {
    return { participant_id: session.participant_id, project_id: session.project_id, mode: 'self', recorded_by: null };
  }
  if (!visit) return null;
  return {
    participant_id: visit.participant_id,
    project_id: visit.project_id,
    mode: visit.mode,
    recorded_by: String(session.user.id),
  };
}

export async function project(id) {
  return values(await storage.getRecord(id));
}

export async function statements(projectId) {
  return (await all('statement'))
    .filter((s) => s.project_id === projectId && s.active !== false)
    .sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
}

export async function participant(id) {
  return values(await storage.getRecord(id));
}

export async function participants(projectId) {
  return (await all('participant')).filter((p) => p.project_id === projectId);
}

/** The consent record as stored, withdrawn or not: {id, value}. */
export async function consentRecord(subj) {
  const id = await naturalId.consent(subj.participant_id, subj.project_id);
  return { id, value: values(await storage.getRecord(id)) };
}

export async function consent(subj) {
  const { value: rec } = await consentRecord(subj);
  return rec && !rec.withdrawn_at ? rec : null;
}

/** The optional equality questions, each with "prefer_not_to_say" (codes as stored, ≤80 chars). */
export const EQUALITY = {
  gender: ['woman', 'man', 'non_binary', 'another', 'prefer_not_to_say'],
  ethnicity: ['asian', 'black', 'mixed', 'white', 'another', 'prefer_not_to_say'],
  disability: ['yes', 'no', 'prefer_not_to_say'],
  first_language: ['english', 'urdu', 'punjabi', 'bsl', 'another', 'prefer_not_to_say'],
};

export async function equality(subj) {
  const id = await naturalId.equality(subj.participant_id, subj.project_id);
  return { id, value: values(await storage.getRecord(id)) };
}

export async function answer(subj, stage, statementId) {
  const id = await naturalId.checklistAnswer(subj.participant_id, subj.project_id, stage, statementId);
  return { id, value: values(await storage.getRecord(id)) };
}

export async function ladder(subj, stage) {
  const id = await naturalId.ladderRating(subj.participant_id, subj.project_id, stage);
  return { id, value: values(await storage.getRecord(id)) };
}

export async function feedbackFor(participantId) {
  const mine = (await all('feedback')).filter((f) => f.participant_id === participantId);
  return mine.sort((a, b) => (a.id < b.id ? 1 : -1)); // UUIDv7: newest first
}

export async function actions() {
  return all('action');
}

/** The creation time hidden in a UUIDv7. */
export function uuid7Time(id) {
  return parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}

/**
 * Only the fields that changed; every field when the record is new. Re-stamping an
 * unchanged field would let this write beat another device's later edit of it.
 */
export function changedValues(existing, full) {
  if (!existing) return full;
  const out = {};
  for (const [k, v] of Object.entries(full)) if (existing[k] !== v) out[k] = v;
  return out;
}

/** The fields that identify a subject's entry; every edit and deletion carries them. */
export function identity(subj) {
  return { participant_id: subj.participant_id, project_id: subj.project_id };
}

/** Fields common to every entry about a subject. */
export function entry(subj, extra) {
  return {
    participant_id: subj.participant_id,
    project_id: subj.project_id,
    mode: subj.mode,
    recorded_by: subj.recorded_by,
    ...extra,
  };
}
