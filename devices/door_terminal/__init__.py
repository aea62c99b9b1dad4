"""Door/attendance terminal agent (relay lock; face check-in arrives with the face module)."""
