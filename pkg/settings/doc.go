// Package settings decodes and validates a kpiflow data source's settings.
//
// Settings come from Grafana as jsonData (plain JSON, provisioned or saved from
// the config editor) and secureJsonData (decrypted secrets). Parse decodes both
// into a typed Settings value, fills defaults and validates it; every error
// names the field and the form it expects, so a user can fix it from the
// message alone.
//
//	s, err := settings.Parse(instance.JSONData, instance.DecryptedSecureJSONData)
//
// The package imports no Grafana SDK package and does no I/O.
package settings
