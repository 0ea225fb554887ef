// Least privilege: the Elasticsearch role and the Kafka ACLs each process needs, on the indices and
// topics of one deployment's prefixes. docs/security.md explains them; `recsys roles` prints them
// for a deployment's prefixes; test/integration/secured.test.ts runs each process with only its role.
import type { Names } from '../config/names.ts';

export const PROCESSES = ['admin', 'ingest', 'trainer', 'api', 'online'] as const;
export type RecsysProcess = (typeof PROCESSES)[number];

export interface IndexPrivileges {
  names: string[];
  privileges: string[];
}

/** The body of PUT _security/role/<name> and of an API key's role_descriptors entry. */
export interface EsRole {
  cluster: string[];
  indices: IndexPrivileges[];
}

/** The index families of a deployment, as index patterns and alias names. */
function families(n: Names) {
  return {
    events: [n.eventsPattern],
    ledger: [n.eventIds],
    metadata: [n.itemMetadata, n.userMetadata],
    itemFactors: [n.itemsPattern, n.itemsAlias],
    userFactors: [n.usersPattern, n.usersAlias],
    served: [n.recommendationsPattern],
    control: [n.models, n.experiments, n.locks, n.tuning],
    artifacts: [n.artifacts],
  };
}

const READ = ['read', 'view_index_metadata'];

export function esRoles(n: Names): Record<RecsysProcess, EsRole> {
  const f = families(n);
  return {
    // `recsys setup`, teardown, `recsys roles`: templates, indices, anything under the prefix
    admin: {
      cluster: ['monitor', 'manage_index_templates'],
      indices: [{ names: [`${n.prefix}*`], privileges: ['all'] }],
    },
    // Kafka → event store and served lists: creates documents (and the monthly index on first use)
    ingest: {
      cluster: ['monitor'],
      indices: [
        {
          names: [...f.events, ...f.served],
          privileges: [...READ, 'create_doc', 'create_index', 'write', 'maintenance'],
        },
        { names: f.ledger, privileges: [...READ, 'write'] },
        { names: [...f.control, ...f.metadata], privileges: READ },
      ],
    },
    // reads events, builds and swaps the factor indices, records models; retention drops old buckets
    trainer: {
      cluster: ['monitor'],
      indices: [
        { names: [...f.events, ...f.served], privileges: [...READ, 'maintenance', 'delete_index'] },
        { names: [...f.ledger, ...f.metadata], privileges: [...READ, 'write'] },
        { names: [...f.itemFactors, ...f.userFactors], privileges: ['manage', 'read', 'write'] },
        { names: f.control, privileges: [...READ, 'write'] },
        // model files: written by training, listed after a refresh; created here if setup has not
        { names: f.artifacts, privileges: [...READ, 'write', 'maintenance', 'create_index'] },
      ],
    },
    // serves; writes only the catalogue (PUT /v1/items, /v1/users) and model/experiment state
    api: {
      cluster: ['monitor'],
      indices: [
        { names: [...f.events, ...f.served, ...f.ledger, ...f.artifacts], privileges: READ },
        { names: [...f.metadata, ...f.itemFactors, ...f.userFactors], privileges: [...READ, 'write'] },
        { names: f.control, privileges: [...READ, 'write'] },
      ],
    },
    // folds new events into user vectors
    online: {
      cluster: ['monitor'],
      indices: [
        { names: [...f.events, ...f.metadata, ...f.itemFactors, ...f.control], privileges: READ },
        { names: f.userFactors, privileges: [...READ, 'write'] },
      ],
    },
  };
}

export interface KafkaAcl {
  resource: 'Topic' | 'Group' | 'Cluster';
  /** literal name, or a prefix when `prefixed` */
  name: string;
  prefixed?: boolean;
  operations: string[];
}

export function kafkaAcls(n: Names, topicPrefix: string): Record<RecsysProcess, KafkaAcl[]> {
  const t = n.topics;
  const g = n.groups;
  return {
    admin: [
      {
        resource: 'Topic',
        name: topicPrefix,
        prefixed: true,
        operations: ['Create', 'Delete', 'Describe', 'DescribeConfigs', 'Alter'],
      },
      { resource: 'Group', name: topicPrefix, prefixed: true, operations: ['Describe', 'Delete'] },
      { resource: 'Cluster', name: 'kafka-cluster', operations: ['Describe'] },
    ],
    ingest: [
      { resource: 'Topic', name: t.events, operations: ['Read', 'Describe'] },
      { resource: 'Topic', name: t.recommendations, operations: ['Read', 'Describe'] },
      { resource: 'Topic', name: t.dlq, operations: ['Write', 'Describe'] },
      { resource: 'Group', name: g.ingest, operations: ['Read', 'Describe'] },
      { resource: 'Group', name: g.recommendations, operations: ['Read', 'Describe'] },
      // the dead-letter producer is idempotent
      { resource: 'Cluster', name: 'kafka-cluster', operations: ['IdempotentWrite'] },
    ],
    trainer: [],
    api: [
      { resource: 'Topic', name: t.events, operations: ['Write', 'Describe'] },
      { resource: 'Topic', name: t.recommendations, operations: ['Write', 'Describe'] },
      { resource: 'Cluster', name: 'kafka-cluster', operations: ['IdempotentWrite'] },
      // /health reads the consumer groups' members and lag
      { resource: 'Group', name: topicPrefix, prefixed: true, operations: ['Describe'] },
      { resource: 'Topic', name: topicPrefix, prefixed: true, operations: ['Describe'] },
    ],
    online: [
      { resource: 'Topic', name: t.events, operations: ['Read', 'Describe'] },
      { resource: 'Group', name: g.online, operations: ['Read', 'Describe'] },
    ],
  };
}

/** The two tables docs/security.md shows, for the placeholder prefixes `<p>` and `<t>`. */
export function rolesMarkdown(n: Names, topicPrefix: string): { elasticsearch: string; kafka: string } {
  const r = esRoles(n);
  const code = (x: string) => `\`${x}\``;
  const es = [
    '| process | cluster | indices → privileges |',
    '| --- | --- | --- |',
    ...PROCESSES.map(
      (p) =>
        `| ${p} | ${r[p].cluster.join(', ')} | ${r[p].indices
          .map((i) => `${i.names.map(code).join(' ')} → ${i.privileges.join(', ')}`)
          .join('<br>')} |`,
    ),
  ];
  const k = kafkaAcls(n, topicPrefix);
  const kafka = [
    '| process | resource | name | operations |',
    '| --- | --- | --- | --- |',
    ...PROCESSES.flatMap((p) =>
      k[p].map(
        (a) =>
          `| ${p} | ${a.resource} | ${code(a.name)}${a.prefixed ? ' (prefixed)' : ''} | ${a.operations.join(', ')} |`,
      ),
    ),
  ];
  return { elasticsearch: es.join('\n'), kafka: kafka.join('\n') };
}
