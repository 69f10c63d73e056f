"""Loading and running models as SageMaker's serving containers do, from their model.tar.gz artifacts."""
