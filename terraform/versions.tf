terraform {
  # 1.9 is the first release whose variable validations may refer to other variables.
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    # From the release whose schema terraform/provider-schema.json holds (every block here is
    # checked against it by test/terraform/provider-schema.test.ts); 6.x adds, never removes.
    google = {
      source  = "hashicorp/google"
      version = ">= 6.50.0, < 7.0.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.6.0, < 4.0.0"
    }
  }

  # State lives in a GCS bucket per project; scripts/deploy passes bucket and prefix with
  # -backend-config so the same code serves every environment.
  backend "gcs" {}
}
