"""Face detection, encoding, quality gates and 1:N search shared by the hub and edge terminals.

Modules: images (decode uploads with reason codes), pipeline (FacePipeline, naive_analyze),
quality (enrolment gates), gallery (in-memory 1:N search), models (dlib model loading).
Imports nothing from hub/ or devices/. The matching policy lives in hub/domain/matching.py.
"""
