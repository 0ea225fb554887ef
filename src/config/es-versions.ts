/**
 * The Elasticsearch versions the project runs and tests against (the integ-test-zip on Maven
 * Central): the newest 9.x it serves, the default, and the last 8.x line, which CI also runs
 * (`npm run test:es8`). The @elastic/elasticsearch 8.19 client talks to both: it sends
 * `compatible-with=8` headers, which 9.x servers accept.
 */
export const ES_VERSIONS = ['9.5.4', '8.19.21'] as const;
export const ES_VERSION = ES_VERSIONS[0];
export const ES8_VERSION = ES_VERSIONS[1];
