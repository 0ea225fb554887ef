/** The lock the scheduler and the admin API share: one training run at a time per cluster. */
export const TRAIN_LOCK = 'train';
/** A crashed holder's lock lapses after this long. */
export const TRAIN_LOCK_TTL_MS = 6 * 3_600_000;
