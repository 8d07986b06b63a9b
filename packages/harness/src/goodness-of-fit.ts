// Does a sample follow a known distribution? Pearson's chi-square goodness-of-fit test, with the p-value from the
// chi-square distribution (the regularized upper incomplete gamma function, by its series below a + 1 and its
// continued fraction above, as in Numerical Recipes §6.2). Outcomes whose expected count is below a minimum are pooled
// into one bin so the chi-square approximation holds. Used by accuracy checks of samplers: reject when p < α, and α is
// then exactly the false-alarm rate of the check.

/** The result of a chi-square goodness-of-fit test. */
export interface GoodnessOfFit {
  /** Pearson's statistic Σ (observed − expected)² / expected over the bins. */
  statistic: number;
  /** Bins − 1. */
  degreesOfFreedom: number;
  /** The chance of a statistic at least this large if the sample follows the distribution. */
  pValue: number;
  /** Bins after pooling the rare outcomes. */
  bins: number;
  /** Observations in all. */
  samples: number;
}

/**
 * Tests `observed` counts per outcome against `probabilities` (same order, summing to 1). The rarest outcomes are
 * pooled into one bin until it is expected at least `minimumExpected` times; an observation of an outcome of
 * probability 0 makes the p-value 0.
 */
export function chiSquareGoodnessOfFit(observed: ArrayLike<number>, probabilities: ArrayLike<number>, minimumExpected = 5): GoodnessOfFit {
  if (observed.length !== probabilities.length) throw new RangeError(`chiSquareGoodnessOfFit: ${observed.length} counts for ${probabilities.length} probabilities`);
  let samples = 0;
  let total = 0;
  for (let index = 0; index < observed.length; index++) {
    samples += observed[index];
    total += probabilities[index];
  }
  if (Math.abs(total - 1) > 1e-6) throw new RangeError(`chiSquareGoodnessOfFit: probabilities sum to ${total}, not 1`);
  // Rarest outcomes first: pool them until the pool is expected at least `minimumExpected` times.
  const outcomes: Array<{ observed: number; expected: number }> = [];
  let impossible = 0;
  for (let index = 0; index < observed.length; index++) {
    if (probabilities[index] === 0) impossible += observed[index];
    else outcomes.push({ observed: observed[index], expected: probabilities[index] * samples });
  }
  outcomes.sort((a, b) => a.expected - b.expected);
  let statistic = 0;
  let bins = 0;
  let pooledObserved = 0;
  let pooledExpected = 0;
  for (const outcome of outcomes) {
    if (outcome.expected < minimumExpected || (pooledExpected > 0 && pooledExpected < minimumExpected)) {
      pooledObserved += outcome.observed;
      pooledExpected += outcome.expected;
      continue;
    }
    statistic += (outcome.observed - outcome.expected) ** 2 / outcome.expected;
    bins++;
  }
  if (pooledExpected > 0) {
    statistic += (pooledObserved - pooledExpected) ** 2 / pooledExpected;
    bins++;
  }
  const degreesOfFreedom = Math.max(1, bins - 1);
  const pValue = impossible > 0 ? 0 : chiSquareSurvival(statistic, degreesOfFreedom);
  return { statistic: impossible > 0 ? Infinity : statistic, degreesOfFreedom, pValue, bins, samples };
}

/** P(X ≥ x) for X chi-square distributed with k degrees of freedom. */
export function chiSquareSurvival(x: number, degreesOfFreedom: number): number {
  if (!(x > 0)) return 1;
  return regularizedUpperGamma(degreesOfFreedom / 2, x / 2);
}

/** Q(a, x) = Γ(a, x) / Γ(a). */
function regularizedUpperGamma(a: number, x: number): number {
  const logPrefactor = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    // Series for P(a, x); Q = 1 − P.
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return Math.max(0, 1 - sum * Math.exp(logPrefactor));
  }
  // Continued fraction for Q(a, x) (modified Lentz).
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let fraction = d;
  for (let n = 1; n < 1000; n++) {
    const an = -n * (n - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    fraction *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.min(1, Math.exp(logPrefactor) * fraction);
}

/** ln Γ(z) for z > 0 (Lanczos approximation, g = 7, n = 9: about 15 significant digits). */
function logGamma(z: number): number {
  const coefficients = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  const shifted = z - 1;
  let sum = coefficients[0];
  for (let index = 1; index < coefficients.length; index++) sum += coefficients[index] / (shifted + index);
  const t = shifted + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (shifted + 0.5) * Math.log(t) - t + Math.log(sum);
}
