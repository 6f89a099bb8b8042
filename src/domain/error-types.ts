// The one list of ApplicationFailure type names. Workflows branch on these, never on messages.
export const ErrorType = {
  RateLimited: 'RateLimited',
  BreakerOpen: 'BreakerOpen',
  QuotaExhausted: 'QuotaExhausted',
  AuthExpired: 'AuthExpired',
  ReauthRequired: 'ReauthRequired',
  Duplicate: 'Duplicate',
  Permanent: 'Permanent',
  Transient: 'Transient',
  InvalidInput: 'InvalidInput',
  NotAwaitingApproval: 'NotAwaitingApproval',
  EditRejected: 'EditRejected',
  TooLate: 'TooLate',
  AccountMissing: 'AccountMissing',
  NotReady: 'NotReady',
  /** Another attempt of the same publication may still be posting: retried when its lease runs out (nextRetryDelay). */
  PublishInProgress: 'PublishInProgress',
} as const;
