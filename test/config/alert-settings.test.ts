import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALERT_ENV, ALERT_THRESHOLD_ENV } from '../../src/config/alerts.js';
import { KNOWN_ENV, loadConfig } from '../../src/config/config.js';
import { FivetierError } from '../../src/errors/codes.js';
import { ALERT_THRESHOLDS_DEFAULT } from '../../src/ops/alerts.js';

const A = '1b4e28ba-2fa1-41d2-883f-0016d3cca427';
const B = '6fa459ea-ee8a-4ca4-894e-db77e160355e';

describe('alert settings (FIVETIER_ALERT_*)', () => {
  it('sets nothing by default: nobody notified, every threshold at its rule default', () => {
    expect(loadConfig({}).alerts).toEqual({ operatorUserIds: [], thresholds: {}, intervalMs: undefined });
  });

  it('reads the operators to notify: comma-separated uuids, blanks ignored, each once', () => {
    expect(loadConfig({ FIVETIER_ALERT_OPERATORS: ` ${A}, ${B.toUpperCase()},,${A}` }).alerts.operatorUserIds).toEqual([A, B]);
    expect(loadConfig({ FIVETIER_ALERT_OPERATORS: '' }).alerts.operatorUserIds).toEqual([]);
  });

  it('reads every threshold and the interval, and keeps only what is set', () => {
    const config = loadConfig({
      FIVETIER_ALERT_POOL_UTILISATION: '0.9',
      FIVETIER_ALERT_JOB_FAILURE_RATIO: '0.2',
      FIVETIER_ALERT_JOB_FAILURES_MIN: '3',
      FIVETIER_ALERT_QUEUE_DEPTH: '500',
      FIVETIER_ALERT_OUTBOX_AGE_SECONDS: '60',
      FIVETIER_ALERT_DEAD_LETTER_GROWTH: '2',
      FIVETIER_ALERT_DEAD_LETTER_WINDOW_SECONDS: '120',
      FIVETIER_ALERT_INTERVAL_MS: '5000',
    });
    expect(config.alerts.thresholds).toEqual({ poolUtilisation: 0.9, jobFailureRatio: 0.2, jobFailuresMin: 3, queueDepth: 500, outboxAgeSeconds: 60, deadLetterGrowth: 2, deadLetterWindowSeconds: 120 });
    expect(config.alerts.intervalMs).toBe(5000);
    expect(loadConfig({ FIVETIER_ALERT_QUEUE_DEPTH: '20' }).alerts.thresholds).toEqual({ queueDepth: 20 });
    expect(Object.isFrozen(config.alerts.thresholds) && Object.isFrozen(config.alerts.operatorUserIds)).toBe(true);
  });

  it('has a variable for every threshold of the rules, each a known setting', () => {
    expect(Object.keys(ALERT_THRESHOLD_ENV).sort()).toEqual(Object.keys(ALERT_THRESHOLDS_DEFAULT).sort());
    for (const { variable } of Object.values(ALERT_THRESHOLD_ENV)) expect(KNOWN_ENV).toContain(variable);
    expect(KNOWN_ENV).toContain('FIVETIER_ALERT_OPERATORS');
    expect(KNOWN_ENV).toContain('FIVETIER_ALERT_INTERVAL_MS');
    const docs = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    for (const variable of ALERT_ENV) expect(docs, variable).toContain(`| \`${variable}\` |`);
  });

  it.each([
    [{ FIVETIER_ALERT_OPERATORS: `${A},ops@example.com` }, /^FIVETIER_ALERT_OPERATORS: "ops@example.com" is not a user id \(a uuid\)/],
    [{ FIVETIER_ALERT_OPERATORS: `${A};${B}` }, /^FIVETIER_ALERT_OPERATORS: .* is not a user id/],
    [{ FIVETIER_ALERT_POOL_UTILISATION: '80' }, /^FIVETIER_ALERT_POOL_UTILISATION: must be a number over 0 up to 1 \(a share: 0.8 is 80%\), got "80"/],
    [{ FIVETIER_ALERT_POOL_UTILISATION: '0' }, /^FIVETIER_ALERT_POOL_UTILISATION: must be a number over 0/],
    [{ FIVETIER_ALERT_JOB_FAILURE_RATIO: '5%' }, /^FIVETIER_ALERT_JOB_FAILURE_RATIO: must be a number from 0 to 1/],
    [{ FIVETIER_ALERT_JOB_FAILURE_RATIO: ' ' }, /^FIVETIER_ALERT_JOB_FAILURE_RATIO: must be a number/],
    [{ FIVETIER_ALERT_JOB_FAILURES_MIN: '0' }, /^FIVETIER_ALERT_JOB_FAILURES_MIN: must be a whole number from 1/],
    [{ FIVETIER_ALERT_QUEUE_DEPTH: '10k' }, /^FIVETIER_ALERT_QUEUE_DEPTH: must be a whole number from 0/],
    [{ FIVETIER_ALERT_OUTBOX_AGE_SECONDS: '2.5' }, /^FIVETIER_ALERT_OUTBOX_AGE_SECONDS: must be a whole number/],
    [{ FIVETIER_ALERT_DEAD_LETTER_GROWTH: '-1' }, /^FIVETIER_ALERT_DEAD_LETTER_GROWTH: must be a whole number/],
    [{ FIVETIER_ALERT_DEAD_LETTER_WINDOW_SECONDS: 'Infinity' }, /^FIVETIER_ALERT_DEAD_LETTER_WINDOW_SECONDS: must be a whole number/],
    [{ FIVETIER_ALERT_INTERVAL_MS: '10' }, /^FIVETIER_ALERT_INTERVAL_MS: must be a whole number from 1000/],
    [{ FIVETIER_ALERT_OPERATOR: A }, /^FIVETIER_ALERT_OPERATOR is not a fivetier setting/],
    [{ FIVETIER_ALERT_QUEUE_DEPTH_MAX: '5' }, /^FIVETIER_ALERT_QUEUE_DEPTH_MAX is not a fivetier setting/],
  ])('refuses %o with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(FivetierError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('lets library overrides win over the environment, field by field, checked the same way', () => {
    const config = loadConfig(
      { FIVETIER_ALERT_OPERATORS: A, FIVETIER_ALERT_QUEUE_DEPTH: '500', FIVETIER_ALERT_OUTBOX_AGE_SECONDS: '60' },
      { alerts: { operatorUserIds: [B], thresholds: { queueDepth: 7 } } },
    );
    expect(config.alerts.operatorUserIds).toEqual([B]);
    expect(config.alerts.thresholds).toEqual({ queueDepth: 7, outboxAgeSeconds: 60 });
    expect(() => loadConfig({}, { alerts: { operatorUserIds: ['nobody'] } })).toThrow(/^alerts.operatorUserIds: "nobody" is not a user id/);
    expect(() => loadConfig({}, { alerts: { thresholds: { jobFailureRatio: 2 } } })).toThrow(/^alerts.thresholds.jobFailureRatio: must be a number from 0 to 1/);
  });
});
