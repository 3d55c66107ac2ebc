// The type dashboards/smtp_exporter.json must satisfy: Grafana's own `Dashboard` (from
// @grafana/schema, the package Grafana's frontend is typed with), made JSON-shaped, and
// stricter where this project has rules:
//   - every panel other than a row names the `${datasource}` variable of type prometheus, and
//     has at least one query target, each on that datasource with a PromQL `expr`.
// tests/dashboards/dashboard_typecheck.mjs wraps the JSON in `... satisfies
// SmtpExporterDashboard` and runs tsc on it, so object-literal excess-property checks apply too:
// a misspelt field is an error, not a silently ignored key.
import type { Dashboard, Panel, RowPanel } from '@grafana/schema';

// JSON has no enums: Grafana's string enums (ThresholdsMode, MappingType, ...) are written as
// their values, so map each to the union of its values. `${E}` of a string enum is that union;
// of plain `string` it is `string`. Numeric enums already accept their member values.
export type Jsonify<T> = T extends string
  ? `${T}`
  : T extends number | boolean | null | undefined
    ? T
    : T extends ReadonlyArray<infer U>
      ? Array<Jsonify<U>>
      : T extends object
        ? { [K in keyof T]: Jsonify<T[K]> }
        : T;

export type PrometheusDatasource = { type: 'prometheus'; uid: '${datasource}' };

export type PrometheusTarget = {
  datasource: PrometheusDatasource;
  refId: string;
  expr: string;
  legendFormat?: string;
  format?: 'time_series' | 'table' | 'heatmap';
  instant?: boolean;
  range?: boolean;
  interval?: string;
  hide?: boolean;
};

// A non-empty tuple: "at least one query".
export type QueryPanel = Omit<Jsonify<Panel>, 'datasource' | 'targets'> & {
  datasource: PrometheusDatasource;
  targets: [PrometheusTarget, ...PrometheusTarget[]];
};

export type Row = Omit<Jsonify<RowPanel>, 'panels'> & { panels: QueryPanel[] };

export type SmtpExporterDashboard = Omit<Jsonify<Dashboard>, 'panels'> & {
  uid: string;
  title: string;
  panels: Array<QueryPanel | Row>;
};
