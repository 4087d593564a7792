import type { JSX } from 'preact';
import type { ConnectionTestReport } from '../api-types';

/** The stages of a connection test (DNS, TCP, TLS, SASL, metadata ...), each ok or failed with its detail or hint. */
export function ConnectionTestResult(props: { report: ConnectionTestReport }): JSX.Element {
  const { report } = props;
  const failed = report.stages.find((s) => !s.ok);
  return (
    <div class="connection-test">
      <p class={report.ok ? 'test-summary alert alert-ok' : 'test-summary alert alert-error'} role="status">
        {report.ok ? 'Connection test passed.' : `Connection test failed${failed === undefined ? '' : ` at ${failed.stage}`}.`}
      </p>
      <ul class="test-report" aria-label="Connection test">
        {report.stages.map((stage, i) => (
          <li key={i}>
            <span class="stage">{stage.stage}</span>
            <span class={stage.ok ? 'result-ok' : 'result-failed'}>{stage.ok ? 'ok' : 'failed'}</span>
            <span class="detail">{stage.detail}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
