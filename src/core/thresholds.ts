/**
 * Threshold evaluation (the safeguards of complete and incremental synchronization). Pure.
 *
 * - Levels: the connector (every name, defaults applied), each entity type mapping (the
 *   resource names) and each association mapping (the link names); only the names set at a
 *   mapping apply there.
 * - A count (`Maximum…Lines`) is crossed when the staged count is strictly greater than the limit.
 * - A rate (`MaxPercentage…`, `MaxLinkPercentage…`) is staged ÷ held before the batch × 100,
 *   crossed when strictly greater than the limit; it does not apply when the scope holds nothing.
 * - A limit of 0 switches the threshold off.
 */

/** The thresholds a connector or a mapping may set in `syncup.yaml`. */
export const THRESHOLD_NAMES = [
  "MaximumInsertedLines",
  "MaximumUpdatedLines",
  "MaximumDeletedLines",
  "MaximumLinkInsertedLines",
  "MaximumLinkDeletedLines",
  "MaxPercentageInsertedLines",
  "MaxPercentageUpdatedLines",
  "MaxPercentageDeletedLines",
  "MaxLinkPercentageInsertedLines",
  "MaxLinkPercentageDeletedLines",
] as const;
export type ThresholdName = (typeof THRESHOLD_NAMES)[number];

export type ThresholdLevel = "connector" | "entity-type" | "association";

/** Staged changes of one scope and what the repository held there before the batch. */
export interface ScopeCounts {
  readonly inserted: number;
  readonly updated: number;
  readonly deleted: number;
  readonly held: number;
}

export interface ThresholdScope {
  readonly level: ThresholdLevel;
  /** Connector, entity type or association name. */
  readonly name: string;
  readonly limits: Readonly<Partial<Record<ThresholdName, number>>>;
  readonly resources?: ScopeCounts;
  readonly links?: ScopeCounts;
}

export interface ThresholdCheck {
  readonly level: ThresholdLevel;
  readonly scope: string;
  readonly threshold: ThresholdName;
  readonly limit: number;
  /** The staged count, or the percentage (rounded to 0.01). */
  readonly actual: number;
  readonly unit: "lines" | "percent";
  readonly crossed: boolean;
}

interface Rule {
  readonly subject: "resources" | "links";
  readonly operation: "inserted" | "updated" | "deleted";
  readonly unit: "lines" | "percent";
}

const RULES: Readonly<Record<ThresholdName, Rule>> = {
  MaximumInsertedLines: { subject: "resources", operation: "inserted", unit: "lines" },
  MaximumUpdatedLines: { subject: "resources", operation: "updated", unit: "lines" },
  MaximumDeletedLines: { subject: "resources", operation: "deleted", unit: "lines" },
  MaximumLinkInsertedLines: { subject: "links", operation: "inserted", unit: "lines" },
  MaximumLinkDeletedLines: { subject: "links", operation: "deleted", unit: "lines" },
  MaxPercentageInsertedLines: { subject: "resources", operation: "inserted", unit: "percent" },
  MaxPercentageUpdatedLines: { subject: "resources", operation: "updated", unit: "percent" },
  MaxPercentageDeletedLines: { subject: "resources", operation: "deleted", unit: "percent" },
  MaxLinkPercentageInsertedLines: { subject: "links", operation: "inserted", unit: "percent" },
  MaxLinkPercentageDeletedLines: { subject: "links", operation: "deleted", unit: "percent" },
};

/** Every threshold that applies, checked; the batch is blocked when any is crossed. */
export function evaluateThresholds(scopes: readonly ThresholdScope[]): ThresholdCheck[] {
  const checks: ThresholdCheck[] = [];
  for (const scope of scopes) {
    for (const name of THRESHOLD_NAMES) {
      const limit = scope.limits[name];
      if (limit === undefined || limit === 0) continue;
      const rule = RULES[name];
      const counts = scope[rule.subject];
      if (counts === undefined) continue;
      const staged = counts[rule.operation];
      if (rule.unit === "lines") {
        checks.push({
          level: scope.level,
          scope: scope.name,
          threshold: name,
          limit,
          actual: staged,
          unit: "lines",
          crossed: staged > limit,
        });
      } else if (counts.held > 0) {
        const percent = (staged / counts.held) * 100;
        checks.push({
          level: scope.level,
          scope: scope.name,
          threshold: name,
          limit,
          actual: Math.round(percent * 100) / 100,
          unit: "percent",
          crossed: percent > limit,
        });
      }
    }
  }
  return checks;
}

/** `MaxPercentageDeletedLines at entity type "AD_Entry": 12.5 % > 10 %`. */
export function describeCheck(check: ThresholdCheck): string {
  const where =
    check.level === "connector" ? "connector" : check.level === "entity-type" ? "entity type" : "association";
  const unit = check.unit === "percent" ? " %" : " lines";
  return `${check.threshold} at ${where} "${check.scope}": ${check.actual}${unit} ${check.crossed ? ">" : "≤"} ${check.limit}${unit}`;
}

/**
 * A threshold check in plain words, for people deciding on a blocked batch:
 * `would delete 50 % of the resources of entity type "Person" (limit: 10 %)`.
 */
export function explainCheck(check: ThresholdCheck): string {
  const verb = /Inserted/.test(check.threshold)
    ? "insert"
    : /Updated/.test(check.threshold)
      ? "update"
      : "delete";
  const subject = /Link/.test(check.threshold) ? "links" : "resources";
  const where =
    check.level === "connector"
      ? "of the connector"
      : `of ${check.level === "entity-type" ? "entity type" : "association"} "${check.scope}"`;
  const amount =
    check.unit === "percent"
      ? `${check.actual} % of the ${subject} ${where} (limit: ${check.limit} %)`
      : `${check.actual} ${subject} ${where} (limit: ${check.limit})`;
  return `would ${verb} ${amount}`;
}
