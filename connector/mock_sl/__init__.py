"""Mock SAP Business One Service Layer (v1 + v2) for tests, the demo and consultants' dry runs."""
