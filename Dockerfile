# onrecord: UI + API on port 7860, index in the /data volume (built from the bundled samples on first run).
#   docker build -t onrecord .
#   docker run -p 7860:7860 -v onrecord-data:/data onrecord
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False \
    ONRECORD_HOST=0.0.0.0 ONRECORD_PORT=7860 ONRECORD_INDEX=/data/index ONRECORD_MODEL_CACHE=/app/model-cache

WORKDIR /app
# CPU-only torch first (the PyTorch CPU wheel index), so the install never pulls a GPU build
COPY requirements.txt ./
RUN pip install --index-url https://download.pytorch.org/whl/cpu -r requirements.txt
COPY pyproject.toml README.md app.py ./
COPY src ./src
RUN pip install . && python -c "import onrecord.api"
# the model's ONNX export (from its own local weights), made once into the image
RUN python -c "from onrecord.embedding import make_embedder; make_embedder(cache='/app/model-cache').load()"

RUN useradd --create-home --uid 1000 onrecord && mkdir -p /data && chown onrecord /data
USER onrecord
VOLUME /data
EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7860/api/health', timeout=4)"
CMD ["python", "app.py"]
