Hello, ${name}!
%{ for i, x in items ~}
- ${i}: ${x}
%{ endfor ~}
end
