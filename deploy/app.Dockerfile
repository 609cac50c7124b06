# The operations app's Cloud Run image (streamlit run streamlit_app/app.py on port 8080), on the
# functions' Python. deploy.sh builds it with Cloud Build from a copy of exactly the paths
# below; by hand, from the repository root: docker build -f deploy/app.Dockerfile -t IMAGE .
# Authlib is what st.login needs for OIDC.
FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 HOME=/tmp
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt Authlib==1.9.6
COPY shared/ shared/
COPY streamlit_app/ streamlit_app/
# Production settings: Streamlit reads .streamlit/config.toml in its working directory.
COPY deploy/app.streamlit.toml .streamlit/config.toml
USER nobody
EXPOSE 8080
CMD ["streamlit", "run", "streamlit_app/app.py"]
