"""The pure streaming stages: events, faults, the forecaster, scorers, decisions, the detector."""
