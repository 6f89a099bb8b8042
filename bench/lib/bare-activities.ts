// The baseline's only activity: it does nothing, so a bare run measures Temporal's own cost per step.
export const bareActivities = {
  async nothing(): Promise<void> {
    // deliberately empty
  },
};
export type BareActivities = typeof bareActivities;
