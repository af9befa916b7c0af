import type { Figure } from '../../report/chartRender.js';

/**
 * One of the paper's studies, done: what it shows in words, its table, its figure, and one plain
 * object per row for scripts (`ipa simulate --study NAME --json`).
 */
export interface Study {
  name: StudyName;
  title: string;
  /** Paragraphs before the table: what was run, and what the paper reported. */
  intro: string[];
  header: string[];
  rows: (string | number)[][];
  /** Paragraphs after the table: what the numbers say. */
  findings: string[];
  figures: Figure[];
  json: Record<string, unknown>[];
}

export const STUDY_NAMES = ['predictors', 'tradeoff', 'scaling', 'floor'] as const;
export type StudyName = (typeof STUDY_NAMES)[number];
