{{- define "aas.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "aas.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "aas.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "aas.mongoSecret" -}}
{{- .Values.mongodb.existingSecret | default (printf "%s-mongodb" (include "aas.fullname" .)) -}}
{{- end -}}

{{/* environment and mounts shared by the API and the gateway */}}
{{- define "aas.env" -}}
- name: AAS_MONGODB_URI
  valueFrom:
    secretKeyRef: {name: {{ include "aas.mongoSecret" . }}, key: uri}
- name: AAS_MONGODB_DATABASE
  value: {{ .Values.mongodb.database | quote }}
- name: AAS_LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
- name: AAS_PUBLIC_BASE_URL
  value: {{ .Values.publicBaseUrl | quote }}
{{- if .Values.config.files }}
- name: AAS_PORTS_FILE
  value: /config/{{ .Values.config.portsFile }}
{{- end }}
{{- end -}}

{{- define "aas.envFrom" -}}
{{- if or .Values.secrets.existingSecret .Values.secrets.env }}
- secretRef:
    name: {{ .Values.secrets.existingSecret | default (printf "%s-env" (include "aas.fullname" .)) }}
{{- end }}
{{- end -}}
