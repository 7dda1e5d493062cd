package forecast

// Reference series and fits for the smoothing tests.
//
// Data: fpp2::oil (annual oil production of Saudi Arabia, 1965–2013, 49
// points) and fpp2::austourists (quarterly international visitor nights in
// Australia, 1999Q1–2015Q4, 68 points), the series Hyndman & Athanasopoulos
// use in "Forecasting: Principles and Practice" (2nd ed., OTexts, ch. 7).
//
// Fits: R's forecast::ets on those series (forecast package, fpp2), as
// published with statsmodels' test suite: statsmodels/tsa/tests/results/
// fit_ets.R and fit_ets_results_{nonseasonal,seasonal}.json. The values below
// are the file's parameters and initial states; the data are its fitted
// values plus residuals, rounded to the series' published precision.

var oilSeries = []float64{
	111.0091, 130.8284, 141.2871, 154.2278, 162.7409, 192.1665, 240.7997, 304.2174,
	384.0046, 429.6622, 359.3169, 437.2519, 468.4008, 424.4353, 487.9794, 509.8284,
	506.3473, 340.1842, 240.2589, 219.0328, 172.0747, 252.5901, 221.0711, 276.5188,
	271.148, 342.6186, 428.3558, 442.3946, 432.7851, 437.2497, 437.2092, 445.3641,
	453.195, 454.4096, 422.3789, 456.0371, 440.3866, 425.1944, 486.2052, 500.4291,
	521.2759, 508.9476, 488.8889, 509.8706, 456.7229, 473.8166, 525.9509, 549.8338,
	542.3405,
}

var austouristsSeries = []float64{
	30.052513, 19.148496, 25.317692, 27.591437, 32.076456, 23.487961,
	28.47594, 35.123753, 36.838485, 25.007017, 30.72223, 28.693759,
	36.640986, 23.824609, 29.311683, 31.770309, 35.177877, 19.775244,
	29.60175, 34.538842, 41.273599, 26.655862, 28.279859, 35.191153,
	42.20566386, 24.64917133, 32.66733514, 37.25735401, 45.24246027, 29.35048127,
	36.34420728, 41.78208137, 49.27659843, 31.27540139, 37.8506255, 38.83704413,
	51.23690034, 31.83855161, 41.32342125, 42.79900337, 55.70835836, 33.40714492,
	42.31663797, 45.15712257, 59.57607996, 34.83733016, 44.84168073, 46.9712496,
	60.01903094, 38.37117852, 46.97586413, 50.73379645, 61.64687319, 39.29956936,
	52.67120908, 54.33231689, 66.83435838, 40.87118847, 51.8285358, 57.49190994,
	65.25146985, 43.06120822, 54.76075713, 59.83447494, 73.25702747, 47.69662373,
	61.09776802, 66.05576122,
}

// etsReference is one R ets fit. Init lists the initial states as R does:
// level, trend, then seasonal terms newest first (s_0, s_-1, …, s_{1-m}).
type etsReference struct {
	name                    string
	model                   Model
	season                  int
	y                       []float64
	alpha, beta, gamma, phi float64
	init                    []float64
	// firstResiduals are R's first residuals, to check the recursions.
	firstResiduals []float64
}

func etsReferences() []etsReference {
	return []etsReference{
		{name: "oil ANN (simple)", model: ModelSES, y: oilSeries, alpha: 0.99989996, phi: 1,
			init: []float64{110.88321179}, firstResiduals: []float64{0.12592282, 19.81931205, 10.4606365, 12.94173326}},
		{name: "oil AAN (Holt)", model: ModelHolt, y: oilSeries, alpha: 0.99770564, beta: 0.0001001, phi: 1,
			init: []float64{21.3150686, 11.71213626}, firstResiduals: []float64{77.98192976, 8.27827585, -1.24312401, 1.21718784}},
		{name: "oil AAdN (damped Holt)", model: ModelDampedHolt, y: oilSeries, alpha: 0.99989969, beta: 0.11886985, phi: 0.80000197,
			init: []float64{36.46466837, 34.72584983}, firstResiduals: []float64{46.76371814, -6.84771067, -10.22825544, -2.63669041}},
		{name: "austourists AAA (Holt-Winters)", model: ModelHoltWinters, season: 4, y: austouristsSeries,
			alpha: 0.20281952, beta: 0.00016979, gamma: 0.4645238, phi: 1,
			init:           []float64{23.06996036, 0.57786622, 1.65451693, -1.17750326, -8.97988612, 8.50287244},
			firstResiduals: []float64{-2.09818602, 4.32859864, 1.23924259, -0.1488305}},
	}
}
