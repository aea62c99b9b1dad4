"""Security helpers of the hub: encryption of biometric templates at rest."""
