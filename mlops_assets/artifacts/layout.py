"""The names of the files in a run directory, ``artifacts/runs/<run_id>/``.

One home because several steps meet in that directory: training writes the model and labels,
evaluation the metrics, report, predictions and plots; promotion, rollback, the registry and
the run's summary read them back by name.
"""

MODEL_FILE = "model.keras"
LABELS_FILE = "labels.json"  # classification: the class labels the model was trained on
METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"
MODEL_CARD_FILE = "model_card.md"  # also the registered version's description
PREDICTIONS_FILE = "heldout_predictions.csv"  # per held-out row, for the paired comparison
PLOTS_DIR = "plots"
