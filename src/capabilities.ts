import capabilitiesJson from './capabilities.json';

/**
 * What the backend of this kpiflow build can do, for the editors to offer only what works.
 *
 * One place for these decisions: src/capabilities.json, which the Go test
 * TestIntegrationEditorQueriesAccepted also reads and holds the backend to (a capability that is
 * false must still be refused or ignored, one that is true must work). The engineer who lands a
 * backend feature flips its entry in the same change.
 *
 * - forecastQueries: the backend answers queryType `forecast` (the editor offers the Forecast type).
 * - liveQueries: queries with `live: true` get a frame whose Meta.Channel streams updates (the
 *   editor offers the Live switch).
 */
export interface Capabilities {
  forecastQueries: boolean;
  liveQueries: boolean;
}

export const capabilities: Readonly<Capabilities> = capabilitiesJson;
