import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { predictedOf } from '../../src/adapt/step.js';
import { renderRecords, renderStatus } from '../../src/cli/adaptView.js';
import { formatNumber, table } from '../../src/common/table.js';
import { displayWidth, terminalWidth, wrapText } from '../../src/common/terminalText.js';
import { resolvePipelineSpec, resolveProfileSet } from '../../src/io/load.js';
import { configOf, type Decision } from '../../src/model/decision.js';
import type { DecisionRecord, Settings } from '../../src/model/decisionRecord.js';
import { settingsOf } from '../../src/model/settings.js';
import { changeReason } from '../../src/optimizer/changeReason.js';
import { decideWithHighs } from '../../src/optimizer/decide.js';
import { problemFromSpec } from '../../src/optimizer/problemFromSpec.js';
import type { AdaptStatus } from '../../src/workflows/messages.js';

/** The text of a line up to display column `col`. */
function upTo(line: string, col: number): string {
  let out = '';
  let used = 0;
  for (const char of line) {
    const w = displayWidth(char);
    if (used + w > col) break;
    out += char;
    used += w;
  }
  return out;
}

/**
 * Decision records as the loop makes them for the video pipeline on the measured profiles: a
 * load that rises twentyfold and falls back, an SLA cut, an infeasible SLA, a failed apply and a
 * skipped step, with real configs (long variant names) and real reasons.
 */
async function videoRecords(): Promise<DecisionRecord[]> {
  const profiles = await resolveProfileSet('measured-h200');
  const spec = await resolvePipelineSpec('video', profiles);
  const steps: [number, number][] = [
    [35.633, 300],
    [35.633, 300],
    [881.549, 300],
    [540.636, 300],
    [712.67, 300],
    [35.633, 120],
    [35.633, 5],
    [100, 300],
  ];
  const records: DecisionRecord[] = [];
  let current: Decision | undefined;
  let previous: Settings | undefined;
  for (const [i, [load, slaMs]] of steps.entries()) {
    const settings: Settings = { slaMs, alpha: 1, beta: 0.001, gamma: 1e-6, accuracy: 'multiply' };
    const problem = problemFromSpec(spec, profiles, load, settingsOf(spec, { slaMs }));
    const decision = await decideWithHighs(problem, current ? { current: configOf(current) } : {});
    const running =
      current && !decision.fallback ? await decideWithHighs(problem, { baseline: 'static', current: configOf(current) }) : undefined;
    const why = changeReason(decision, {
      ...(current ? { current: configOf(current) } : {}),
      ...(running ? { running } : {}),
      settings,
      ...(previous ? { previous } : {}),
    });
    const failed = i === steps.length - 1;
    const outcome = !why ? 'unchanged' : failed ? 'apply-failed' : decision.feasible ? 'applied' : 'fallback';
    const infeasible = decision.feasible ? undefined : `infeasible: ${decision.explanation.infeasible.join('; ')}`;
    const reason = [
      infeasible,
      why ?? 'the running config is still the best',
      failed ? 'apply failed: dry-run log /tmp/x: EISDIR' : undefined,
    ]
      .filter((r) => r !== undefined)
      .join('; ');
    records.push({
      id: `adapt-video#${i + 1}`,
      step: i + 1,
      pipeline: 'video',
      at: new Date(Date.UTC(2025, 0, 1, 12, 0, i * 10, 123)).toISOString(),
      trigger: i === 0 ? 'start' : slaMs !== previous?.slaMs ? 'update' : 'timer',
      profilesVersion: profiles.version,
      observed: { source: 'trace', seconds: 120, last: Math.round(load), mean: load, max: Math.round(load), stale: false },
      forecast: { forecast: load, upper: load * 1.2, method: 'lstm', reason: '', provisioned: load },
      settings,
      outcome,
      feasible: decision.feasible,
      config: configOf(decision),
      predicted: predictedOf(decision),
      solver: { method: decision.solver.method, status: decision.solver.status, timeMs: 1.2345 },
      explanation: decision.explanation.summary,
      reason,
    });
    if (outcome !== 'apply-failed') current = decision;
    previous = settings;
  }
  records.push({
    id: `adapt-video#${steps.length + 1}`,
    step: steps.length + 1,
    pipeline: 'video',
    at: new Date(Date.UTC(2025, 0, 1, 12, 2, 0)).toISOString(),
    trigger: 'timer',
    profilesVersion: profiles.version,
    settings: records[0]?.settings as Settings,
    outcome: 'skipped',
    reason: 'observe failed and no earlier window exists: prometheus at http://localhost:9090: connect ECONNREFUSED 127.0.0.1:9090',
  });
  return records;
}

/** Where each line is wider than `width` display columns, for the assertion message. */
function tooWide(text: string, width: number): string[] {
  return text.split('\n').filter((line) => displayWidth(line) > width);
}

/** The display column just after the header `name` ends, and the lines that start a row. */
function columnEnd(text: string, name: string): { end: number; rows: string[] } {
  const [header = '', ...lines] = text.split('\n');
  const at = header.indexOf(name);
  assert.ok(at >= 0, `header ${name} in ${header}`);
  return { end: displayWidth(header.slice(0, at + name.length)), rows: lines.filter((l) => /^ {0,3}\d/.test(l)) };
}

describe('ipa adapt tables', () => {
  let records: DecisionRecord[];
  before(async () => {
    records = await videoRecords();
  });

  it('fit decisions into 100 columns, keeping step, λ̂, outcome, config, latency and reason', () => {
    const full = renderRecords(records, Number.POSITIVE_INFINITY);
    assert.ok(Math.max(...full.split('\n').map(displayWidth)) > 200, 'unconstrained, the rows are far wider than a terminal');
    const text = renderRecords(records, 100);
    assert.deepEqual(tooWide(text, 100), []);
    const headers = (text: string) =>
      (text.split('\n')[0] ?? '')
        .split(/ {2,}/)
        .map((h) => h.trim())
        .filter(Boolean);
    assert.deepEqual(headers(text), ['step', 'λ̂', 'outcome', 'config', 'latency', 'reason']);
    // Wider, the columns come back most important first; the least important go first.
    assert.deepEqual(headers(renderRecords(records, 120)), ['step', 'λ̂', 'SLA', 'outcome', 'config', 'PAS', 'cost', 'latency', 'reason']);
    // The whole reason is there, wrapped within its column: no word of it is lost.
    const { end } = columnEnd(text, 'latency');
    const reasonText = text
      .split('\n')
      .slice(1)
      .map((l) => l.slice(upTo(l, end + 2).length))
      .join(' ');
    for (const r of records)
      for (const word of (r.reason ?? '').split(' ').filter((w) => w.length > 3 && !/[/_-]/.test(w)))
        assert.ok(reasonText.includes(word), word);
    for (const width of [80, 120, 160]) assert.deepEqual(tooWide(renderRecords(records, width), width), [], `width ${width}`);
    assert.equal(renderRecords(records, 1000), full, 'nothing wraps or goes when the table fits');
  });

  it('aligns the λ̂ header with its numbers (λ̂ is one display column)', () => {
    for (const width of [100, Number.POSITIVE_INFINITY]) {
      const text = renderRecords(records, width);
      const { end, rows } = columnEnd(text, 'λ̂');
      assert.equal(rows.length, records.length);
      for (const [i, row] of rows.entries()) {
        const provisioned = records[i]?.forecast?.provisioned;
        const cell = provisioned === undefined ? '–' : formatNumber(provisioned);
        const head = upTo(row, end);
        assert.ok(head.endsWith(` ${cell}`), `row ${i + 1}: "${head}" ends with ${cell} at column ${end}`);
        assert.equal(row.slice(head.length, head.length + 1), ' ', 'and the next column starts after a gap');
      }
    }
  });

  it('fit the status into 100 columns', () => {
    const last = records.find((r) => r.outcome === 'fallback') as DecisionRecord;
    const status: AdaptStatus = {
      pipeline: 'video',
      profilesVersion: last.profilesVersion,
      settings: last.settings,
      paused: false,
      step: 1234,
      run: 3,
      intervalSeconds: 10,
      ...(last.config ? { current: last.config } : {}),
      lastDecision: last,
      counters: { steps: 12345, applied: 1234, unchanged: 11000, infeasible: 12, applyFailures: 3, staleWindows: 45, ignoredSignals: 2 },
      ignored: [
        {
          at: '2025-01-01T12:00:00.000Z',
          signal: 'reloadProfiles',
          reason:
            'invalid profile set reference:\n  profiles: no profile set "no-such-set" in /work/main/profiles/sets (known: measured-h200 (sha256-5fcbf9c54263d3cc), testbed (sha256-4b5b350c8e13310f))',
        },
      ],
    };
    const text = renderStatus(status, 100);
    assert.deepEqual(tooWide(text, 100), []);
    assert.match(text, /^counters: steps 12,345, applied 1,234, /m);
    assert.match(text, /^detect +fasterrcnn_mobilenet_v3_large_320_fpn +gpu-h200 +16 +1$/m);
    assert.match(text, /^last decision:\nstep +λ̂ +outcome/m);
    assert.match(text, /^ignored reloadProfiles at 2025-01-01T12:00:00.000Z: invalid profile set/m);
  });
});

describe('table', () => {
  it('measures display width: combining marks take no column, wide characters two', () => {
    assert.equal(displayWidth('λ̂'), 1);
    assert.equal(displayWidth('λ̂ rps'), 5);
    assert.equal(displayWidth('é'), 1);
    assert.equal(displayWidth('表格'), 4);
    assert.equal(displayWidth('ok ✅'), 5);
    assert.equal(table(['x', 'λ̂'], [['表', 1.5]]), 'x     λ̂\n表  1.5');
  });

  it('stays as it was for callers that give no columns', () => {
    assert.equal(
      table(
        ['name', 'n'],
        [
          ['a', 1],
          ['bb', 1234.5],
        ],
      ),
      'name        n\na           1\nbb    1,234.5',
    );
    const wide = table(['a', 'b'], [['x'.repeat(150), 'y']], { width: 100 });
    assert.equal(wide, `a${' '.repeat(151)}b\n${'x'.repeat(150)}  y`, 'without columns nothing wraps or goes');
  });

  it('wraps a text column within itself, then drops columns by priority', () => {
    const rows = [[1, 'a fairly long sentence that has to wrap somewhere', 'low', 'mid']];
    const columns = [undefined, { wrapMin: 10 }, { priority: 2 }, { priority: 1 }];
    const header = ['n', 'text', 'lo', 'mi'];
    assert.equal(
      table(header, rows, { width: 40, columns }),
      ['n  text                         lo   mi', '1  a fairly long sentence that  low  mid', '   has to wrap somewhere'].join('\n'),
    );
    assert.equal(
      table(header, rows, { width: 20, columns }),
      ['n  text          mi', '1  a fairly      mid', '   long', '   sentence', '   that has to', '   wrap', '   somewhere'].join('\n'),
      'lo goes first, then the text wraps down to its minimum',
    );
    assert.equal(table(header, rows, { width: 10, columns }).split('\n')[0], 'n  text', 'both droppable columns go');
  });

  it('fits the terminal when stdout is one, else 100 columns', () => {
    assert.equal(terminalWidth({ isTTY: true, columns: 80 }), 80);
    assert.equal(terminalWidth({ isTTY: false, columns: 80 }), 100);
    assert.equal(terminalWidth({}), 100);
    assert.deepEqual(wrapText('detect=fasterrcnn_resnet50_fpn_v2/gpu-h200 b1×1', 24), [
      'detect=fasterrcnn_',
      'resnet50_fpn_v2/gpu-h200',
      'b1×1',
    ]);
  });
});
