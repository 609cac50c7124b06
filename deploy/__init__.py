"""Deployment helpers called by deploy.sh: config validation, plans from gcloud's answers,
Firestore rules, Cloud Scheduler jobs. They run on the deployer's machine, never in Google Cloud."""
