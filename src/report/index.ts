export { renderModelReport, type ReportInput, type ReportModel, type ReportTrial } from './model-report.ts';
export * from './svg.ts';
