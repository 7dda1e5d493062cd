export interface ForecastOptions {
  /** Show the percentile date table beside the chart. */
  showTable: boolean;
  /** Date format of the table, e.g. YYYY-MM-DD. */
  dateFormat: string;
}

export const defaultForecastOptions: ForecastOptions = { showTable: true, dateFormat: 'YYYY-MM-DD' };
