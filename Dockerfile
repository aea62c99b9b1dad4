# OfficeHub hub / simulator image.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libcups2-dev gcc curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY protocol protocol
COPY facecore facecore
COPY hub hub
COPY devices devices
COPY firmware_sim firmware_sim
# Prebuilt dlib wheel + models, then face_recognition without its dlib sdist dependency.
RUN pip install --no-cache-dir dlib-bin face_recognition_models \
    && pip install --no-cache-dir --no-deps face-recognition==1.3.0 \
    && pip install --no-cache-dir '.[print]'
ENV OFFICEHUB_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
CMD ["officehub", "serve", "--host", "0.0.0.0", "--port", "8080"]
