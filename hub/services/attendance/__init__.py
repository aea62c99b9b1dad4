"""Attendance services: punch recording, timesheets, shifts, corrections, remote check-in."""
