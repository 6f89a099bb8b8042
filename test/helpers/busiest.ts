/** The most times in any interval [t, t + span): how many calls a sliding window of `span` ms ever held. */
export function busiest(times: number[], span: number): number {
  const s = [...times].sort((a, b) => a - b);
  let worst = 0;
  for (let i = 0, j = 0; i < s.length; i++) {
    while (j < s.length && s[j] < s[i] + span) j++;
    worst = Math.max(worst, j - i);
  }
  return worst;
}
