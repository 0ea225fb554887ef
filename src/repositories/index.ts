// Thin repositories, one per index family: the only code that talks to Elasticsearch besides
// setup/teardown. Each query is written once here; domain modules ask these, never the client.

import type { Client } from '@elastic/elasticsearch';
import type { FilterFieldLists } from '../catalog/item-fields.ts';
import type { Names } from '../config/names.ts';
import { ArtifactsRepository } from './artifacts.ts';
import { ClusterRepository } from './cluster.ts';
import { DocumentWriter } from './documents.ts';
import { EventsRepository } from './events.ts';
import { ExperimentsRepository } from './experiments.ts';
import { ItemsRepository } from './items.ts';
import { LocksRepository } from './locks.ts';
import { MetadataRepository } from './metadata.ts';
import { ModelIndicesRepository } from './model-indices.ts';
import { ModelsRepository } from './models.ts';
import { PersonalDataRepository } from './personal-data.ts';
import { PrivacyJobsRepository } from './privacy-jobs.ts';
import { ServedListsRepository } from './served-lists.ts';
import { TombstonesRepository } from './tombstones.ts';
import { TuningRepository } from './tuning.ts';
import { UsersRepository } from './users.ts';

export interface Repositories {
  events: EventsRepository;
  items: ItemsRepository;
  users: UsersRepository;
  models: ModelsRepository;
  modelIndices: ModelIndicesRepository;
  experiments: ExperimentsRepository;
  servedLists: ServedListsRepository;
  locks: LocksRepository;
  artifacts: ArtifactsRepository;
  tuning: TuningRepository;
  cluster: ClusterRepository;
  documents: DocumentWriter;
  metadata: MetadataRepository;
  tombstones: TombstonesRepository;
  privacyJobs: PrivacyJobsRepository;
  personalData: PersonalDataRepository;
}

export interface RepositoryOptions {
  /** the filter whitelist (config.serving.filterFields): item metadata upserts type-check it */
  filterFields?: FilterFieldLists;
}

export function createRepositories(es: Client, names: Names, opts: RepositoryOptions = {}): Repositories {
  const modelIndices = new ModelIndicesRepository(es, names);
  return {
    metadata: new MetadataRepository(es, names, modelIndices, opts.filterFields),
    events: new EventsRepository(es, names),
    items: new ItemsRepository(es, names),
    users: new UsersRepository(es),
    models: new ModelsRepository(es, names),
    modelIndices,
    experiments: new ExperimentsRepository(es, names),
    servedLists: new ServedListsRepository(es, names),
    locks: new LocksRepository(es, names),
    artifacts: new ArtifactsRepository(es, names),
    tuning: new TuningRepository(es, names),
    cluster: new ClusterRepository(es),
    documents: new DocumentWriter(es, names),
    tombstones: new TombstonesRepository(es, names),
    privacyJobs: new PrivacyJobsRepository(es, names),
    personalData: new PersonalDataRepository(es, names),
  };
}

export type { ModelDoc } from './models.ts';
export type { ExperimentDoc, ExperimentStatus } from './experiments.ts';
export { INTERNAL_MODEL_FIELDS } from './models.ts';
export type { Lock } from './locks.ts';
export type { EventRow, PairBucket, RecentEvent } from './events.ts';
export type { Metadata } from './items.ts';
export type { UserDoc, UserVector } from './users.ts';
