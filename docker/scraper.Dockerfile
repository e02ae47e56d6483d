# The scraper image; the validate function runs the same image with another CMD.
# AWS Lambda's Python 3.11 base image (Lambda runs it as a non-root user).
FROM public.ecr.aws/lambda/python:3.11

# Only what the scraper and validate handlers import.
COPY docker/scraper.requirements.txt ${LAMBDA_TASK_ROOT}/requirements.txt
RUN pip install --no-cache-dir --requirement ${LAMBDA_TASK_ROOT}/requirements.txt \
        --target ${LAMBDA_TASK_ROOT}

COPY services/__init__.py services/settings.py services/lambda_errors.py services/errors.py ${LAMBDA_TASK_ROOT}/services/
COPY services/b3/ ${LAMBDA_TASK_ROOT}/services/b3/
COPY services/lake/ ${LAMBDA_TASK_ROOT}/services/lake/
COPY services/scraper/ ${LAMBDA_TASK_ROOT}/services/scraper/
COPY services/validate/ ${LAMBDA_TASK_ROOT}/services/validate/

CMD ["services.scraper.handler.handler"]
