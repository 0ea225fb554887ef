import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isTransientKafkaError, kafkajsLogLevel } from '../../src/infra/kafka-log.ts';

describe('kafkajs log levels', () => {
  it("a forming group's retried coordinator errors are debug, not error", () => {
    const loading = "The coordinator is loading and hence can't process requests for this group";
    expect(isTransientKafkaError(loading)).toBe(true);
    expect(kafkajsLogLevel(logLevel.ERROR, `Crash: KafkaJSProtocolError: ${loading}`, {})).toBe('debug');
    expect(
      kafkajsLogLevel(logLevel.ERROR, 'Response GroupCoordinator(key: 10, version: 2)', {
        error: 'The group coordinator is not available',
      }),
    ).toBe('debug');
    expect(kafkajsLogLevel(logLevel.ERROR, 'Restarting the consumer in 300ms', {})).toBe('debug');
  });

  it('real errors keep their level', () => {
    expect(isTransientKafkaError('Connection error: connect ECONNREFUSED 127.0.0.1:9092')).toBe(false);
    expect(kafkajsLogLevel(logLevel.ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:9092', {})).toBe(
      'error',
    );
    expect(
      kafkajsLogLevel(logLevel.ERROR, 'Response Produce(key: 0, version: 7)', {
        error: 'The request included message batch larger than the configured segment size on the server',
      }),
    ).toBe('error');
    expect(kafkajsLogLevel(logLevel.WARN, 'Something odd', {})).toBe('warn');
    expect(kafkajsLogLevel(logLevel.INFO, 'Starting', {})).toBe('info');
  });
});
