# The chat bot's Cloud Run image (python -m chatbot, /healthz on $PORT), on the functions'
# Python. deploy.sh builds it with Cloud Build from a copy of exactly the paths below; by hand,
# from the repository root: docker build -f deploy/chatbot.Dockerfile -t IMAGE .
FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY shared/ shared/
COPY chatbot/ chatbot/
USER nobody
CMD ["python", "-m", "chatbot"]
