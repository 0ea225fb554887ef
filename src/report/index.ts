export {
  renderModelReport,
  REPORT_CSP,
  type ReportInput,
  type ReportModel,
  type ReportTrial,
} from './model-report.ts';
export * from './svg.ts';
